"""The API's one error shape: application/problem+json (RFC 9457) with a stable `code`."""

import logging
from http import HTTPStatus

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class ApiError(Exception):
    """Raise anywhere in the API to answer with a problem document."""

    def __init__(self, status: int, code: str, detail: str, *, errors: list | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors, self.headers = errors, headers or {}


def problem(status: int, code: str, detail: str, *, errors: list | None = None,
            headers: dict[str, str] | None = None) -> JsonResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "code": code,
            "detail": detail}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_errors(exc: ValidationError) -> list[dict]:
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "form", "query", "payload")]
        message = error.get("msg", "is not valid")
        if error.get("type") == "extra_forbidden":
            message = "is not a field you can set (read-only or unknown)"
        errors.append({"field": ".".join(location), "message": message})
    return errors


def _pass_on(request: HttpRequest, exc: Exception):
    raise exc


def install(api: NinjaAPI) -> None:
    """Route every error the API can raise to a problem document."""

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError):
        return problem(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError):
        # The upload handler drops an oversized file, so its absence is reported as what it really is.
        if getattr(request, "upload_too_large", False):
            return problem(413, "file_too_large", "The file is larger than the upload limit.")
        return problem(400, "invalid_request", "Some fields are missing or not valid.", errors=_field_errors(exc))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError):
        return problem(401, "not_authenticated", "Send an API key as 'Authorization: Bearer <key>' or sign in.",
                       headers={"WWW-Authenticate": 'Bearer realm="strongbox"'})

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled):
        return problem(429, "rate_limited", "Too many requests; slow down and retry after the given delay.")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return problem(404, "not_found", "There is no such object.")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        if exc.status_code == 400:  # ninja's only 400: a body its JSON parser could not read
            return problem(400, "malformed_body", "The request body is not valid JSON (numbers may have at most "
                                                  "4,300 digits).")
        code = {403: "forbidden", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return problem(exc.status_code, code, str(exc))

    # A body Django's parser refuses (malformed multipart, too many fields or files, fields over their size
    # limit) is answered by Django's handler400, ops.views.bad_request, which speaks problem+json under /api/:
    # the same words as the web pages, from one place.
    for refused in (MultiPartParserError, SuspiciousOperation, BadRequest):
        api.add_exception_handler(refused, _pass_on)

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception):
        log.exception("unhandled API error on %s %s", request.method, request.path)
        return problem(500, "internal_error", "The server could not finish the request. Try again later.")
