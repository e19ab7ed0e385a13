"""Health probes and the error pages, which say what went wrong for the user and nothing about the server."""

import functools
import logging
import os
import secrets
from dataclasses import dataclass
from importlib import import_module

import redis
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.http import Http404, HttpResponse, JsonResponse
from django.http.multipartparser import MAX_TOTAL_HEADER_SIZE, MultiPartParserError
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject, empty
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from strongbox.api.errors import problem
from strongbox.ops import metrics as ops_metrics
from strongbox.ops.dbrouter import replica_aliases
from strongbox.ops.requestid import current_request_id

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def metrics(request):
    """Prometheus' scrape of this server (every process of it): only for STRONGBOX_METRICS_NETWORKS or the
    bearer of STRONGBOX_METRICS_TOKEN; anyone else is told, as for any missing page, that there is none."""
    if not ops_metrics.may_read(request.META.get("REMOTE_ADDR", ""), request.headers.get("Authorization", "")):
        raise Http404
    return HttpResponse(ops_metrics.exposition(), content_type=ops_metrics.CONTENT_TYPE)


def _check_database(alias: str = "default") -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_storage() -> None:
    name = default_storage.save(f"readyz/{secrets.token_hex(8)}", ContentFile(b"ok"))
    default_storage.delete(name)


def _check_tasks() -> None:
    storage = HUEY.storage
    if isinstance(storage, RedisStorage):
        # Huey's own connections wait 2 s (longer than its consumer's blocking read); a probe must answer well
        # within the balancer's check timeout even when Redis hangs, or every server is taken out at once.
        pool, timeout = storage.conn.connection_pool, settings.REDIS_TIMEOUT_SECONDS
        options = {**pool.connection_kwargs, "socket_timeout": timeout, "socket_connect_timeout": timeout}
        with redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class,
                                                              **options)) as client:
            client.llen(storage.queue_key)
        return
    storage.queue_size()


def _check_cache() -> None:
    if hasattr(cache, "ping"):
        cache.ping()


def _checks() -> dict:
    """Return {name: (check, required)}. A required dependency down makes the server unready (503); without an
    optional one it still serves, degraded (200): cache errors read as misses, reads move to the primary, and
    lost tasks are enqueued again (documents/tasks.py)."""
    checks = {"database": (_check_database, True), "storage": (_check_storage, True),
              "cache": (_check_cache, False), "tasks": (_check_tasks, False)}
    for alias in replica_aliases():
        checks[alias] = (functools.partial(_check_database, alias), False)
    return checks


@never_cache
@require_safe
def readyz(request):
    """Report each dependency: 200 "ok", 200 "degraded" without an optional one, 503 "unavailable" without a
    required one; 503 "draining" once the server is stopping, whatever its dependencies."""
    # `serve` creates the file on SIGTERM; a file, because every worker process of the app server must see it.
    if settings.DRAIN_FILE and os.path.exists(settings.DRAIN_FILE):
        return JsonResponse({"status": "draining"}, status=503)
    results, status = {}, "ok"
    for name, (check, required) in _checks().items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # a probe reports failure of any kind instead of raising it
            log.exception("readiness check %s failed", name)
            results[name] = "unavailable"
            status = "unavailable" if required else ("degraded" if status == "ok" else status)
    return JsonResponse({"status": status, "checks": results}, status=503 if status == "unavailable" else 200)


class BodyTooLarge(RequestDataTooBig):
    """The declared Content-Length is beyond any acceptable upload (documents/uploads.py)."""


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


def _multipart_problem(exception: MultiPartParserError) -> str:
    # Django's parser says which part of the body it could not read only in its messages.
    reason = str(exception)
    if "boundary" in reason or "Content-Type" in reason:
        return "The upload has no valid multipart boundary in its Content-Type header."
    if "header size" in reason:
        return f"A part of the upload has headers longer than {MAX_TOTAL_HEADER_SIZE} bytes."
    if "base64" in reason:
        return "A part of the upload says it is base64 but is not valid base64."
    return "The upload's multipart body could not be read."


def refusal(exception: Exception | None) -> Refusal:
    """Say what is wrong with a request refused before a view could read it: its body (Django's parser and
    size limits raise these) or a header Django does not accept."""
    if isinstance(exception, BodyTooLarge):
        return Refusal(413, "request_too_large",
                       f"Files can be at most {settings.MAX_UPLOAD_SIZE / 1024**2:g} MB. Choose a smaller file.")
    if isinstance(exception, RequestDataTooBig):
        return Refusal(413, "fields_too_large", f"The form fields or JSON body are larger than "
                       f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB (only a file may be larger).")
    if isinstance(exception, TooManyFilesSent):
        allowed = getattr(exception, "allowed", 1)  # the upload form takes several (documents/uploads.py)
        return Refusal(400, "too_many_files", "Send one file per upload, in the part named 'file'." if allowed == 1
                       else f"Send at most {allowed} files at once.")
    if isinstance(exception, TooManyFieldsSent):
        return Refusal(400, "too_many_fields",
                       f"The form has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exception, MultiPartParserError):
        return Refusal(400, "malformed_body", _multipart_problem(exception))
    return Refusal(400, "bad_request", "The request could not be understood.")


def _discard_partial_uploads(request) -> None:
    """Delete the temporary file of an upload the parser gave up on, now rather than whenever it is collected."""
    for handler in request.upload_handlers:
        partial = getattr(handler, "file", None)
        if partial is not None:
            partial.close()


def _known_user(request) -> None:
    """Give a request refused before the middleware read its session (an oversize body) a user for the page's
    navigation, read from the session only if the page shows it."""
    if hasattr(request, "user"):
        return
    if not hasattr(request, "session"):
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = SimpleLazyObject(lambda: get_user(request))


def _loaded_user(request) -> None:
    """Keep the user of a failed request only if it was already read: the 500 page must not query anything."""
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        request.user = AnonymousUser()


def bad_request(request, exception=None):
    """Answer a request Django refused (handler400: SuspiciousOperation, MultiPartParserError, BadRequest) with
    what was wrong: problem+json on the API, a page elsewhere. The API's handlers pass these on to here."""
    refused = refusal(exception)
    _discard_partial_uploads(request)
    if request.path.startswith("/api/"):
        return problem(refused.status, refused.code, refused.message)
    template = "errors/413.html" if refused.status == 413 else "errors/400.html"
    _known_user(request)
    return render(request, template, {"message": refused.message}, status=refused.status)


def permission_denied(request, exception=None):
    _known_user(request)
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    _known_user(request)
    return render(request, "errors/404.html", status=404)


def server_error(request):
    _loaded_user(request)
    # The id the log lines of this request carry, for the user to quote.
    return render(request, "errors/500.html", {"request_id": current_request_id(), "degraded": True}, status=500)


def csrf_failure(request, reason=""):
    _known_user(request)
    return render(request, "errors/403_csrf.html", status=403)
