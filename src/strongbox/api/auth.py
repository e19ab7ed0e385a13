"""Who is calling: a browser session (CSRF enforced on changes) or an API key in `Authorization: Bearer`."""

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie

from strongbox.accounts.models import ApiKey
from strongbox.accounts.services import api_key_authenticate
from strongbox.api.errors import ApiError
from strongbox.api.ratelimit import check_anonymous

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
QUERY_KEY_NAMES = {"api_key", "apikey", "key", "token", "access_token", "bearer"}


class SessionAuth(APIKeyCookie):
    """The signed-in browser session. Checks CSRF only for a signed-in session without an Authorization header,
    so API-key clients are never asked for a CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest):
        if "Authorization" in request.headers or not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key):
        return request.user if key and request.user.is_authenticated else None


class ApiKeyAuth(HttpBearer):
    """An API key. Read-only keys may only read. Failed and missing credentials count against the caller's
    address, which rate-limits guessing."""

    def __call__(self, request: HttpRequest):
        if QUERY_KEY_NAMES & {name.lower() for name in request.GET}:
            raise ApiError(400, "key_in_query", "API keys are refused in the URL, where logs and browser history "
                                                "keep them. Send 'Authorization: Bearer <key>' instead.")
        result = super().__call__(request)
        if result is None:
            check_anonymous(request)
        return result

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = api_key_authenticate(token)
        if api_key is None:
            return None
        if api_key.scope == ApiKey.Scope.READ and request.method not in SAFE_METHODS:
            raise ApiError(403, "read_only_key", "This API key is read-only; use a read-write key to make changes.")
        request.user = api_key.user
        return api_key


class RejectApiKeys:
    """For endpoints only a browser session may use: answer key-authenticated calls with 403."""

    def __call__(self, request: HttpRequest):
        if "Authorization" in request.headers:
            raise ApiError(403, "session_required", "Sign in with a browser session to manage API keys.")
        check_anonymous(request)
        return None
