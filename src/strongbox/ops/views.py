"""Health probes and the error pages, which say what went wrong for the user and nothing about the server."""

import logging
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from huey.contrib.djhuey import HUEY

log = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_storage() -> None:
    name = default_storage.save(f"readyz/{secrets.token_hex(8)}", ContentFile(b"ok"))
    default_storage.delete(name)


def _check_tasks() -> None:
    HUEY.storage.queue_size()


CHECKS = {"database": _check_database, "storage": _check_storage, "tasks": _check_tasks}


@never_cache
@require_safe
def readyz(request):
    """Every dependency a request needs is reachable; 503 naming the failing ones otherwise."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception:  # a probe reports failure of any kind instead of raising it
            log.exception("readiness check %s failed", name)
            results[name] = "unavailable"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)


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
