"""API rate limits: per key or signed-in user, and per client address for calls without valid credentials."""

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from strongbox.api.errors import ApiError
from strongbox.lib.ratelimit import hit

WINDOW = 60


def retry_after(ident: str, limit: int) -> int | None:
    return hit(f"api:{ident}", limit, WINDOW)


def check_anonymous(request: HttpRequest) -> None:
    """Count an unauthenticated call against its client address; raise 429 past the limit."""
    # REMOTE_ADDR is the real client: TrustedProxyMiddleware resolved it from trusted proxies' headers.
    wait = retry_after(f"ip:{request.META.get('REMOTE_ADDR', '')}", settings.API_ANONYMOUS_RATE_LIMIT)
    if wait is not None:
        raise ApiError(429, "rate_limited", f"Too many unauthenticated requests; retry in {wait} seconds.",
                       headers={"Retry-After": str(wait)})


class PerCallerThrottle(BaseThrottle):
    """Limit each API key, or each signed-in user, to API_RATE_LIMIT requests a minute."""

    def allow_request(self, request: HttpRequest) -> bool:
        caller = request.auth
        ident = f"key:{caller.pk}" if hasattr(caller, "key_hash") else f"user:{caller.pk}"
        self._wait = retry_after(ident, settings.API_RATE_LIMIT)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
