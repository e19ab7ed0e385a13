"""Links mailed to confirm something: sign-ups (signed, expiring, and single-use because they embed the
account's inactive state), e-mail changes (signed ids of a change row, which is used once) and password resets
(Django's, which a new password or a sign-in ends, and here also "sign out everywhere").

A sign-up is pending until activated, for ACCOUNT_ACTIVATION_TIMEOUT from the moment it was made: its link works
that long, and afterwards its username and address are free again (accounts/signups.py).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from strongbox.accounts.models import EmailChange, User

_SALT = "strongbox.accounts.activation"


class _ResetTokens(PasswordResetTokenGenerator):
    def _make_hash_value(self, user, timestamp):
        # The session salt changes when the user signs out everywhere: a link mailed before is over too.
        return f"{super()._make_hash_value(user, timestamp)}:{user.session_salt}"


reset_tokens = _ResetTokens()

# A sign-up nobody has activated. An account an administrator made, activated, deactivated or gave privileges
# is never one: only the sign-up form marks accounts pending, and activating one clears the mark for good.
PENDING = Q(signup_pending=True, is_active=False, is_staff=False, is_superuser=False)


def activation_cutoff(now: datetime | None = None) -> datetime:
    """Return the instant before which a pending sign-up has expired."""
    return (now or timezone.now()) - timedelta(seconds=settings.ACCOUNT_ACTIVATION_TIMEOUT)


def pending_signups():
    """Return the sign-ups still waiting for activation, inside their window."""
    return User.objects.filter(PENDING, date_joined__gte=activation_cutoff())


def expired_signups():
    """Return the sign-ups whose window passed without an activation."""
    return User.objects.filter(PENDING, date_joined__lt=activation_cutoff())


def _state(user: User) -> str:
    return salted_hmac(_SALT, f"{user.pk}:{user.password}:{user.is_active}").hexdigest()[:24]


def activation_token(user: User) -> str:
    """Return a token that activates `user` once, until ACCOUNT_ACTIVATION_TIMEOUT passes."""
    return signing.dumps({"u": user.pk, "s": _state(user)}, salt=_SALT)


def user_for_activation_token(token: str) -> User | None:
    """Return the pending sign-up the token was made for, or None for a bad, expired or used token (or one whose
    sign-up was replaced or has expired)."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.ACCOUNT_ACTIVATION_TIMEOUT)
    except signing.BadSignature:
        return None
    user = pending_signups().filter(pk=data.get("u")).first()
    if user is None or not constant_time_compare(str(data.get("s")), _state(user)):
        return None
    return user


_EMAIL_CHANGE_SALT = "strongbox.accounts.email_change"


def email_change_token(change: EmailChange) -> str:
    """Return the token for an e-mail change link. Expiry and single use are the change row's to enforce."""
    return signing.dumps(change.pk, salt=_EMAIL_CHANGE_SALT)


def email_change_id_for_token(token: str) -> int | None:
    """Return the id of the e-mail change the token was signed for, or None for a forged one."""
    try:
        change_id = signing.loads(token, salt=_EMAIL_CHANGE_SALT)
    except signing.BadSignature:
        return None
    return change_id if isinstance(change_id, int) else None
