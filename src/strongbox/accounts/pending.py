"""The sign-in half-way through: password right, second factor still to come.

It is kept in the still anonymous session, so it opens nothing but the code page, and only for PENDING_MAX_AGE
seconds. It also ends when the account's password changes or its sessions are ended in the meantime.
"""

import time

from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from strongbox.accounts import selectors
from strongbox.accounts.models import User

PENDING = "strongbox.two_factor_pending"
PENDING_MAX_AGE = 300


def start(request: HttpRequest, user: User, next_url: str) -> None:
    """Remember that `user` gave the right password and should land on `next_url` (already checked as local)."""
    # A new session key: whoever planted or saw the old one must not share this half-signed-in state.
    request.session.cycle_key()
    request.session[PENDING] = {"user": user.pk, "backend": user.backend, "next": next_url,
                                "hash": user.get_session_auth_hash(), "at": int(time.time())}


def get(request: HttpRequest) -> tuple[User, str, str] | None:
    """Return the pending user, their authentication backend and where to send them, or None if there is none
    or it has expired."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict) or not 0 <= time.time() - data.get("at", 0) < PENDING_MAX_AGE:
        return None
    user = selectors.active_user(data.get("user"))
    if user is None or not constant_time_compare(data.get("hash", ""), user.get_session_auth_hash()):
        return None
    return user, data.get("backend", ""), data.get("next", "")


def clear(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)
