"""Small helpers for views that also answer htmx requests with HTML fragments (see docs/architecture.md)."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    """Return whether htmx sent the request and expects a fragment rather than a whole page.

    A history-restore request asks for the whole page again, so it counts as an ordinary one.
    """
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def hx_redirect(url: str) -> HttpResponse:
    """Tell htmx to load `url` as a whole page (an XMLHttpRequest would follow a 302 silently instead)."""
    return HttpResponse(status=200, headers={"HX-Redirect": url})


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Keep caches from serving a fragment where a page was asked for at the same URL, and the other way round."""
    patch_vary_headers(response, ["HX-Request"])
    return response


def login_required_fragment(view):
    """Like login_required, but an htmx request without a session (it expired while the page was open) reloads
    the page, which then sends the user to sign in, instead of swapping the sign-in page into a fragment."""
    protected = login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and is_htmx(request):
            return HttpResponse(status=200, headers={"HX-Refresh": "true"})
        return protected(request, *args, **kwargs)

    return wrapper
