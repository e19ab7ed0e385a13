from http import HTTPStatus

from strongbox.api.errors import PROBLEM, problem

API_PREFIX = "/api/"
_CODES = {404: "not_found", 405: "method_not_allowed"}


class ApiProblemMiddleware:
    """Give the answers Django and django-ninja make outside the API's handlers (an unknown path, a method the
    path does not allow) the API's problem+json shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        code = _CODES.get(response.status_code)
        if code and request.path.startswith(API_PREFIX) and response.get("Content-Type") != PROBLEM:
            converted = problem(response.status_code, code, f"{HTTPStatus(response.status_code).phrase}.")
            if "Allow" in response:
                converted["Allow"] = response["Allow"]
            return converted
        return response
