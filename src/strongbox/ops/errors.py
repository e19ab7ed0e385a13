"""Error tracking with Sentry (or a server speaking its protocol, e.g. GlitchTip), when STRONGBOX_SENTRY_DSN is set.

What leaves the server is an exception and where it happened, never what a person typed or what opens an
account: no cookies, no Authorization header, no request body, no local variables (nor source lines), no query
string, no log breadcrumbs below WARNING (an access line's path may hold a one-time link), no SQL or Redis
commands, and the secret part of a link (a sign-up confirmation, a password reset, an address change) replaced by
its URL pattern. The event carries the request id, so the report, the log lines and the error page the user saw
name the same request.
"""

import logging
import re

from strongbox.ops.requestid import current_request_id

# Request headers whose names hold any of these are left out (besides sentry-sdk's own terms).
SENSITIVE_HEADERS = ["authorization", "cookie", "token", "key", "secret", "password", "csrf", "session"]
# Routes whose URL holds a secret (Django's patterns as Sentry names them: "/accounts/activate/{token}/").
_SECRET_IN_URL = re.compile(r"\{(token|uidb64)\}")


def scrub(event: dict, hint: dict | None = None) -> dict:
    """Remove from an event what must not leave the server; add the request id."""
    request = event.get("request") or {}
    for field in ("cookies", "data", "query_string", "env"):
        request.pop(field, None)
    route = event.get("transaction") or ""
    if _SECRET_IN_URL.search(route) and "url" in request:
        scheme_host = re.match(r"[a-z]+://[^/]+", request["url"])
        request["url"] = (scheme_host.group(0) if scheme_host else "") + route
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


# Breadcrumbs that carry what a statement or a command was given: SQL, Redis commands (a session key is one),
# outgoing HTTP requests (a signed URL), subprocesses.
_PRIVATE_BREADCRUMBS = {"query", "redis", "httplib", "subprocess"}


def _breadcrumb(crumb: dict, hint: dict | None = None) -> dict | None:
    return None if crumb.get("category") in _PRIVATE_BREADCRUMBS else crumb


def init_error_tracking(dsn: str, *, environment: str, release: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn, environment=environment, release=release, max_request_body_size="never",
        data_collection={"user_info": False, "cookies": {"mode": "off"}, "url_query_params": {"mode": "off"},
                         "http_headers": {"request": {"mode": "denylist", "terms": SENSITIVE_HEADERS}},
                         "http_bodies": [], "database_query_data": False, "stack_frame_variables": False,
                         "frame_context_lines": 0},
        traces_sample_rate=0, before_send=scrub, before_breadcrumb=_breadcrumb,
        auto_enabling_integrations=False,  # only the two below: no Redis, boto3 or HTTP client instrumentation
        integrations=[DjangoIntegration(transaction_style="url", middleware_spans=False, signals_spans=False,
                                        cache_spans=False),
                      LoggingIntegration(level=logging.WARNING, event_level=logging.ERROR)],
    )
