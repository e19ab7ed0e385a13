"""Recent authentication: a mark in the session, set at sign-in and when the user types their password again.

Pages that change how the account is protected (two-factor sign-in, the e-mail address) want the mark younger
than REAUTH_MAX_AGE seconds, so a session left open on a shared computer cannot be used to take the account over.
"""

import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

RECENT_AUTH = "strongbox.reauth_at"


def max_age() -> int:
    return getattr(settings, "REAUTH_MAX_AGE", 600)


def mark(request: HttpRequest) -> None:
    """Record that the user has just proven who they are."""
    request.session[RECENT_AUTH] = int(time.time())


def is_recent(request: HttpRequest) -> bool:
    at = request.session.get(RECENT_AUTH)
    return isinstance(at, int) and 0 <= time.time() - at < max_age()


def safe_next(request: HttpRequest, url: str | None, default: str) -> str:
    """Return `url` if it leads somewhere on this site, else `default`: a link must not bounce users off-site."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return default


def reauth_required(return_to: str | None = None):
    """Send the user to type their password again unless they did so recently (use below `login_required`).

    They come back to this page, or to the URL named `return_to` for views that only accept POST.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if is_recent(request):
                return view(request, *args, **kwargs)
            back = reverse(return_to) if return_to else request.get_full_path()
            return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': back})}")

        return wrapper

    return decorator
