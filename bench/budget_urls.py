"""Strongbox's URLs plus /bench/trivial: a tiny response for a signed-in user (a ceiling of bench/budget.py)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


@login_required
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial", trivial, name="bench-trivial"),
    path("", include("strongbox.urls")),
]
