"""Health probes and the error pages, which say what went wrong for the user and nothing about the server."""

import functools
import logging
import secrets

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from huey.contrib.djhuey import HUEY

from strongbox.ops.dbrouter import replica_aliases

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _check_database(alias: str = "default") -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_storage() -> None:
    name = default_storage.save(f"readyz/{secrets.token_hex(8)}", ContentFile(b"ok"))
    default_storage.delete(name)


def _check_tasks() -> None:
    HUEY.storage.queue_size()


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
    required one."""
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


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return render(request, "errors/500.html", status=500)


def csrf_failure(request, reason=""):
    return render(request, "errors/403_csrf.html", status=403)
