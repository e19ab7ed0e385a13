from http import HTTPStatus

from strongbox.api.errors import PROBLEM, problem

API_PREFIX = "/api/"
_CODES = {404: "not_found", 405: "method_not_allowed", 416: "range_not_satisfiable"}
_DETAILS = {416: "The Range asked for starts beyond the end of the file (see Content-Range for its size)."}
_KEPT_HEADERS = ("Allow", "Content-Range")


class ApiProblemMiddleware:
    """Give the answers Django and django-ninja make outside the API's handlers (an unknown path, a method the
    path does not allow, a Range beyond the file) the API's problem+json shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        code = _CODES.get(response.status_code)
        if code and request.path.startswith(API_PREFIX) and response.get("Content-Type") != PROBLEM:
            status = response.status_code
            converted = problem(status, code, _DETAILS.get(status, f"{HTTPStatus(status).phrase}."))
            for name in _KEPT_HEADERS:
                if name in response:
                    converted[name] = response[name]
            return converted
        return response
