"""Brute-force limits on sign-in and password reset, keyed by the name or address typed and by the client's address.

Keys are derived from the submitted name or address, never from whether an account exists, so a lockout tells
an attacker nothing about which accounts are real.

A name is counted under its canonical identity: the NFKC form Django's sign-in form turns it into before looking
the account up, case-folded. Every spelling that can reach an account (`ｅｒｉｎ`, `𝐞𝐫𝐢𝐧`, `ᵉrin`, `ERIN`)
therefore shares that account's counter.

A password check first reserves its attempt (`login_reserve`), atomically, and gives it back only if the password
was right (`login_release`): however many requests arrive at once, no more than the limit are ever checked.
"""

import hashlib
import math
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.http import HttpRequest

from strongbox.lib.ratelimit import hit, release, reserve

# The keys this request reserved, so that login_release gives back exactly those (even if a window ended since).
_RESERVED = "_strongbox_login_reserved"


def canonical_username(username: str) -> str:
    """Return the identity every spelling of `username` that signs into the same account shares."""
    # As django.contrib.auth.forms.UsernameField does (strip, then NFKC), then case-folded as the unique
    # constraint on usernames is case-insensitive; NFKC again because case-folding can leave a non-NFKC string.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username.strip()).casefold())


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _login_limits(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    return [(f"login:account:{_digest(canonical_username(username))}", settings.LOGIN_FAILURES_PER_ACCOUNT),
            (f"login:address:{request.META.get('REMOTE_ADDR', '')}", settings.LOGIN_FAILURES_PER_ADDRESS)]


def login_reserve(request: HttpRequest, username: str) -> int | None:
    """Reserve one password (or code) check for this name and this client's address, before checking it.

    Return the seconds to wait when a limit is used up (nothing stays reserved then), else None: the check may
    run, and counts as a failure unless `login_release` is called after it succeeded.
    """
    reserved, waits = [], []
    for ident, limit in _login_limits(request, username):
        wait, key = reserve(ident, limit, settings.LOGIN_LOCKOUT_WINDOW)
        if key is not None:
            reserved.append(key)
        if wait:
            waits.append(wait)
    if waits:
        # Refused: give every count back, so refused requests neither use up the budget nor lengthen a lockout.
        for key in reserved:
            release(key)
        return max(waits)
    setattr(request, _RESERVED, reserved)
    return None


def login_release(request: HttpRequest, username: str) -> None:
    """Give back the attempt this request reserved for `username`: its check succeeded, so it was no failure."""
    for key in getattr(request, _RESERVED, None) or []:
        release(key)
    setattr(request, _RESERVED, [])


# Each app process answers with a few threads. A failed sign-in holds its thread for LOGIN_FAILURE_MIN_SECONDS
# (the timing floor), so without a bound a burst of wrong passwords would hold every thread and stall everyone.
# The bound is per process on purpose: what it protects is this process's threads.
_checks = threading.BoundedSemaphore(settings.SIGNIN_CHECKS_PER_PROCESS)


@contextmanager
def check_slot() -> Iterator[bool]:
    """Take one of this process's password-check slots if one is free at once; yield whether one was taken."""
    taken = _checks.acquire(blocking=False)
    try:
        yield taken
    finally:
        if taken:
            _checks.release()


def reset_refused(request: HttpRequest, email: str) -> int | None:
    """Count a reset request; return the seconds to wait if it is over a limit, else None."""
    address = _digest(email.strip().lower())
    waits = [hit(f"reset:email:{address}", settings.RESET_REQUESTS_PER_EMAIL, settings.RESET_REQUEST_WINDOW),
             hit(f"reset:address:{request.META.get('REMOTE_ADDR', '')}", settings.RESET_REQUESTS_PER_ADDRESS,
                 settings.RESET_REQUEST_WINDOW)]
    return max((wait for wait in waits if wait), default=None)


def minutes(seconds: int) -> str:
    count = max(1, math.ceil(seconds / 60))
    return f"{count} minute{'s' if count != 1 else ''}"
