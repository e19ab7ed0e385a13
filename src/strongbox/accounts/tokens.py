"""Links mailed to confirm something: sign-ups (signed, expiring, and single-use because they embed the
account's inactive state) and e-mail changes (signed ids of a change row, which is used once)."""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from strongbox.accounts.models import EmailChange, User

_SALT = "strongbox.accounts.activation"


def _state(user: User) -> str:
    return salted_hmac(_SALT, f"{user.pk}:{user.password}:{user.is_active}").hexdigest()[:24]


def activation_token(user: User) -> str:
    """Return a token that activates `user` once, until ACCOUNT_ACTIVATION_TIMEOUT passes."""
    return signing.dumps({"u": user.pk, "s": _state(user)}, salt=_SALT)


def user_for_activation_token(token: str) -> User | None:
    """Return the inactive user the token was made for, or None for a bad, expired or used token."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.ACCOUNT_ACTIVATION_TIMEOUT)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=False).first()
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
