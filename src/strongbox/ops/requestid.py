"""Request ids: one per request, taken from the balancer or made here, in every log line and in the response.

Behind HAProxy the id is its `unique-id` (sent as X-Request-ID), so the balancer's log, Strongbox's log lines and
the id a user quotes from an error page all name the same request. The header is believed only from a trusted
proxy (TrustedProxyMiddleware decides) and only if it is short and plain: anyone else could otherwise put their
own text, or newlines, into the log.
"""

import json
import logging
import os
import re
import secrets
import time
from contextvars import ContextVar

from django.utils.functional import empty

from strongbox.ops import metrics
from strongbox.ops.logformat import ACCESS_LOGGER

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
MAX_LENGTH = 128
# HAProxy's ids (%ID from unique-id-format: hex, addresses, ports, times) and UUIDs fit; spaces, quotes and
# control characters do not.
_ACCEPTED = re.compile(rf"[A-Za-z0-9._:+/=@-]{{1,{MAX_LENGTH}}}")

_request_id: ContextVar[str | None] = ContextVar("strongbox_request_id", default=None)
_request: ContextVar = ContextVar("strongbox_request", default=None)
access_log = logging.getLogger(ACCESS_LOGGER)


def new_request_id() -> str:
    return secrets.token_hex(16)


def accepted(value: str | None) -> str | None:
    """Return `value` if it may serve as a request id, else None."""
    return value if value is not None and _ACCEPTED.fullmatch(value) else None


def request_id_for(meta: dict, *, from_proxy: bool) -> str:
    """Return the id of the request with these WSGI headers: the proxy's if it came through a trusted proxy that
    sent a well-formed one, else a new one."""
    return (accepted(meta.get(META_KEY)) if from_proxy else None) or new_request_id()


def current_request_id() -> str | None:
    """Return the id of the request being answered, or None outside a request (a task, a command)."""
    return _request_id.get()


def _user_id(request) -> int | None:
    """The signed-in user's id, if this request has already looked it up (a log line must not cost a query)."""
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


class RequestIdFilter(logging.Filter):
    """Give every log record a `request_id` attribute ("-" outside a request), for the formatter to print, and
    `user_id` and `route` (None when unknown) for the JSON lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        request = _request.get()
        record.user_id = _user_id(request) if request is not None else None
        record.route = metrics.route_of(request) if request is not None else None
        return True


class RequestContext:
    """Run `handle(request)` as request `request_id`: log lines written meanwhile carry the id, the response
    carries it in X-Request-ID, and one access line records the request (JSON, so a path cannot forge a line):
    method, path, status, milliseconds until the response started, client address, worker pid."""

    def __init__(self, request_id: str):
        self.request_id = request_id

    def run(self, request, handle):
        token, request_token = _request_id.set(self.request_id), _request.set(request)
        started = time.perf_counter()
        status = 500
        try:
            response = handle(request)
            status = response.status_code
            response[HEADER] = self.request_id
            return response
        finally:
            # The time until the response starts: a streamed body (a download) goes on after this.
            seconds = time.perf_counter() - started
            metrics.observe_request(request, status, seconds)
            ms, client, pid = round(seconds * 1000, 1), request.META.get("REMOTE_ADDR", ""), os.getpid()
            access_log.info(json.dumps({"method": request.method, "path": request.path, "status": status, "ms": ms,
                                        "client": client, "pid": pid}, ensure_ascii=True),  # pid: which worker
                            extra={"method": request.method, "path": request.path, "status": status,
                                   "duration_ms": ms, "client": client, "pid": pid})
            _request_id.reset(token)
            _request.reset(request_token)
