"""Sign-up writes: registering a sign-up, activating the account it made, and forgetting those never activated.

A sign-up makes an inactive account and mails its activation link to the address given. Three rules keep an
attacker from abusing that (issue 9):

- Sign-ups are limited per client address and per e-mail address (`signup_refused`), so nobody can flood a
  victim's mailbox through Strongbox.
- A pending sign-up holds its username and address only for the activation window; afterwards the next sign-up
  may take them, and `signups_expired_delete` (a periodic job) removes it. A new sign-up with the address of a
  pending one replaces it, and its mail says so: only the mailbox's owner can activate, so squatting an address
  achieves nothing.
- Activation asks for the password chosen at sign-up (`account_activate`). Whoever clicks the link proves the
  mailbox, the password proves the sign-up: an attacker who signs up with a victim's address cannot get the
  victim to activate an account whose password the attacker knows.
"""

import hashlib
import logging
import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest

from strongbox.accounts import tasks
from strongbox.accounts.models import User
from strongbox.accounts.tokens import PENDING, activation_cutoff, expired_signups, pending_signups
from strongbox.lib.ratelimit import hit

log = logging.getLogger(__name__)


def _email_key(email: str) -> str:
    # The address as the unique constraint compares it (case-insensitively), so spellings of one mailbox share a
    # count; keyed on what was typed, never on whether an account has it.
    normalized = unicodedata.normalize("NFKC", email.strip()).casefold()
    return hashlib.sha256(normalized.encode()).hexdigest()[:32]


def signup_refused(request: HttpRequest, email: str) -> tuple[str, int] | None:
    """Count a sign-up; return which limit it is over ("email" or "address") and the seconds to wait, else None.

    Both counts are taken for every sign-up, like the reset limits, so a refused one still uses up the budget.
    """
    window = settings.SIGNUP_WINDOW
    by_email = hit(f"signup:email:{_email_key(email)}", settings.SIGNUPS_PER_EMAIL, window)
    by_address = hit(f"signup:address:{request.META.get('REMOTE_ADDR', '')}", settings.SIGNUPS_PER_ADDRESS,
                     window)
    if by_email:
        return "email", by_email
    if by_address:
        return "address", by_address
    return None


def signup_register(*, username: str, email: str, password: str) -> None:
    """Register a sign-up without revealing whether the username or address is taken.

    Both outcomes hash the password and queue one mail: a confirmation link for a new account (saying so when it
    replaces a pending sign-up with the same address), or a notice for a taken name or address. The request that
    calls this answers the same either way.
    """
    hashed = make_password(password)
    try:
        with transaction.atomic():
            clashing = User.objects.filter(Q(username__iexact=username) | Q(email__iexact=email))
            # Expired sign-ups hold nothing; a pending one with this address gives way to its mailbox's owner.
            clashing.filter(PENDING, date_joined__lt=activation_cutoff()).delete()
            replaced = pending_signups().filter(email__iexact=email)
            if clashing.exclude(pk__in=replaced.values("pk")).exists():
                raise _Taken
            replaces = replaced.delete()[0] > 0
            user = User.objects.create(username=username, email=email, password=hashed, is_active=False,
                                       signup_pending=True)
            tasks.send_activation_mail(user.pk, replaces)
            return
    except (_Taken, IntegrityError):  # IntegrityError: lost a race with a concurrent sign-up, so taken too
        pass
    tasks.send_signup_conflict_mail(username, email)


class _Taken(Exception):
    """The username or the address belongs to another account."""


def activation_refused(user: User) -> int | None:
    """Count an activation attempt for `user`; return the seconds to wait if there were too many, else None.

    Only the link's holder gets this far; the limit keeps them from guessing a sign-up's password at will.
    """
    return hit(f"signup:activate:{user.pk}", settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_LOCKOUT_WINDOW)


def account_activate(*, user: User, password: str) -> bool:
    """Activate a pending sign-up if `password` is the one chosen at sign-up. Return whether it was activated
    (False for a wrong password, or a sign-up that expired or was activated or replaced meanwhile)."""
    if not user.check_password(password):
        return False
    activated = pending_signups().filter(pk=user.pk, password=user.password).update(is_active=True,
                                                                                      signup_pending=False)
    user.is_active = bool(activated)
    return user.is_active


def signups_expired_delete() -> int:
    """Delete the sign-ups never activated within their window; return how many."""
    deleted = expired_signups().delete()[1].get(User._meta.label, 0)
    if deleted:
        log.info("removed %d sign-up(s) never activated", deleted)
    return deleted
