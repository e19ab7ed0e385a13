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

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
MAX_LENGTH = 128
# HAProxy's ids (%ID from unique-id-format: hex, addresses, ports, times) and UUIDs fit; spaces, quotes and
# control characters do not.
_ACCEPTED = re.compile(rf"[A-Za-z0-9._:+/=@-]{{1,{MAX_LENGTH}}}")

_request_id: ContextVar[str | None] = ContextVar("strongbox_request_id", default=None)
access_log = logging.getLogger("strongbox.access")


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


class RequestIdFilter(logging.Filter):
    """Give every log record a `request_id` attribute ("-" outside a request), for the formatter to print."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class RequestContext:
    """Run `handle(request)` as request `request_id`: log lines written meanwhile carry the id, the response
    carries it in X-Request-ID, and one access line records the request (JSON, so a path cannot forge a line):
    method, path, status, milliseconds until the response started, client address, worker pid."""

    def __init__(self, request_id: str):
        self.request_id = request_id

    def run(self, request, handle):
        token = _request_id.set(self.request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = handle(request)
            status = response.status_code
            response[HEADER] = self.request_id
            return response
        finally:
            # The time until the response starts: a streamed body (a download) goes on after this.
            access_log.info(json.dumps({
                "method": request.method, "path": request.path, "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1), "client": request.META.get("REMOTE_ADDR", ""),
                "pid": os.getpid(),  # which app-server worker answered
            }, ensure_ascii=True))
            _request_id.reset(token)
