"""Brute-force limits on sign-in and password reset, keyed by what was typed and by the client's address.

Keys are derived from the submitted name or address, never from whether an account exists, so a lockout tells
an attacker nothing about which accounts are real.
"""

import hashlib
import math

from django.conf import settings
from django.http import HttpRequest

from strongbox.lib.ratelimit import blocked, hit


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def _login_limits(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    return [(f"login:account:{_digest(username)}", settings.LOGIN_FAILURES_PER_ACCOUNT),
            (f"login:address:{request.META.get('REMOTE_ADDR', '')}", settings.LOGIN_FAILURES_PER_ADDRESS)]


def login_locked(request: HttpRequest, username: str) -> int | None:
    """Return the seconds until sign-in may be tried again for this name from this address, or None."""
    waits = [blocked(ident, limit, settings.LOGIN_LOCKOUT_WINDOW) for ident, limit in _login_limits(request, username)]
    return max((wait for wait in waits if wait), default=None)


def login_failed(request: HttpRequest, username: str) -> None:
    for ident, limit in _login_limits(request, username):
        hit(ident, limit, settings.LOGIN_LOCKOUT_WINDOW)


def reset_refused(request: HttpRequest, email: str) -> int | None:
    """Count a reset request; return the seconds to wait if it is over a limit, else None."""
    waits = [hit(f"reset:email:{_digest(email)}", settings.RESET_REQUESTS_PER_EMAIL, settings.RESET_REQUEST_WINDOW),
             hit(f"reset:address:{request.META.get('REMOTE_ADDR', '')}", settings.RESET_REQUESTS_PER_ADDRESS,
                 settings.RESET_REQUEST_WINDOW)]
    return max((wait for wait in waits if wait), default=None)


def minutes(seconds: int) -> str:
    count = max(1, math.ceil(seconds / 60))
    return f"{count} minute{'s' if count != 1 else ''}"
