"""The operations page and its figures, for staff only: anyone else is told, as for any missing page, that there
is none (a sign-in redirect or a 403 would say that something is here)."""

import functools

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from strongbox.ops.dashboard import selectors

POLL_SECONDS = 2
WINDOW_SECONDS = 300


def staff_only(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (request.user.is_authenticated and request.user.is_staff):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@staff_only
@never_cache
@require_safe
def dashboard(request):
    return render(request, "ops/dashboard.html", {"figures": selectors.figures(), "poll_seconds": POLL_SECONDS,
                                                  "window_seconds": WINDOW_SECONDS})


@staff_only
@never_cache
@require_safe
def figures(request):
    return JsonResponse(selectors.figures())
