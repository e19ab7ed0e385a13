"""Cross-cutting request and response handling: proxies, the current request's client, security headers."""

from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.utils.cache import patch_cache_control

from strongbox.lib.clientip import client_ip, is_trusted
from strongbox.ops.requestid import RequestContext, request_id_for

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_FORWARDED")


@dataclass(frozen=True)
class Client:
    """Where the current request comes from, as the audit log records it."""

    address: str
    user_agent: str


# Set for the length of each request, so services can record who asked from where without taking the request.
_client: ContextVar[Client | None] = ContextVar("strongbox_client", default=None)


def current_client() -> Client | None:
    """Return the client of the request being answered, or None outside a request (a task, a command)."""
    return _client.get()


PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                      "payment=(), usb=(), interest-cohort=()")


class TrustedProxyMiddleware:
    """Believe X-Forwarded-For/-Proto only from STRONGBOX_TRUSTED_PROXIES.

    From a trusted proxy, REMOTE_ADDR becomes the real client's address, so rate limits and the audit log see it.
    From anyone else the forwarding headers are dropped, so a client can neither pose as HTTPS (which Django's
    SECURE_PROXY_SSL_HEADER would otherwise believe) nor choose the address its requests are counted under.
    The resolved address and the user agent are then the request's `current_client()`. The proxy's X-Request-ID
    is believed on the same terms (else the request gets a new id): see ops/requestid.py.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        remote = meta.get("REMOTE_ADDR", "")
        from_proxy = is_trusted(remote, settings.TRUSTED_PROXIES)
        if from_proxy:
            meta["REMOTE_ADDR"] = client_ip(remote, meta.get("HTTP_X_FORWARDED_FOR", ""), settings.TRUSTED_PROXIES)
        else:
            for header in FORWARDED_HEADERS:
                meta.pop(header, None)
        token = _client.set(Client(address=meta.get("REMOTE_ADDR", ""), user_agent=meta.get("HTTP_USER_AGENT", "")))
        try:
            return RequestContext(request_id_for(meta, from_proxy=from_proxy)).run(request, self.get_response)
        finally:
            _client.reset(token)


class SecurityHeadersMiddleware:
    """Add the headers Django's SecurityMiddleware does not: Cross-Origin-Resource-Policy and Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class CachePolicyMiddleware:
    """Give every response without its own Cache-Control `private, no-store`: pages carry user data, CSRF
    tokens or both, so neither a shared cache nor the browser's disk may keep them. Responses that are the same
    for everyone say so themselves (the API schema and docs; static files through WhiteNoise: immutable)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
