"""Account writes. Views, commands and tasks call these; none of them touches the User table directly."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from strongbox.accounts import audit, tasks
from strongbox.accounts.models import ApiKey, AuditEvent, EmailChange, User, expiry_passed, new_session_salt


def user_create(*, username: str, email: str, password: str, is_active: bool = True,
                is_staff: bool = False, is_superuser: bool = False) -> User:
    """Create an account after checking the password against the validators (ValidationError if weak)."""
    user = User(username=username, email=email, is_active=is_active, is_staff=is_staff, is_superuser=is_superuser)
    validate_password(password, user=user)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def sessions_end_all(*, user: User) -> None:
    """End every session of `user`, on every device, at its next request."""
    user.session_salt = new_session_salt()
    user.save(update_fields=["session_salt"])


def password_reset_request(*, email: str) -> None:
    """Queue a reset mail for the address; the lookup happens in the task, so the request learns nothing."""
    tasks.send_password_reset_mail(email)


def email_change_request(*, user: User, new_email: str) -> EmailChange:
    """Ask to move `user` to `new_email`, replacing any earlier request that was not confirmed.

    Whether the address is taken is decided in the task, which mails either a confirmation link or a notice that
    the address is in use: the request that calls this answers the same either way and learns nothing.
    """
    with transaction.atomic():
        EmailChange.objects.filter(user=user, used_at__isnull=True).delete()
        change = EmailChange.objects.create(user=user, new_email=new_email)
        tasks.send_email_change_mail(change.pk)
    return change


def email_change_confirm(*, change: EmailChange) -> bool:
    """Move the account to the change's address, once, and tell the old address. Return False if the change was
    used meanwhile or another account has taken the address since it was asked for."""
    user = change.user
    old_email = user.email
    try:
        with transaction.atomic():
            claimed = EmailChange.objects.filter(pk=change.pk, used_at__isnull=True).update(used_at=timezone.now())
            if claimed != 1 or User.objects.filter(email__iexact=change.new_email).exclude(pk=user.pk).exists():
                return False
            user.email = change.new_email
            user.save(update_fields=["email"])
            tasks.send_email_changed_notice(user.pk, old_email)
    except IntegrityError:  # lost a race with another account taking the address
        user.email = old_email
        return False
    return True


KEY_LABEL = "sbx"
LAST_USED_PRECISION = timedelta(minutes=1)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ExpiryPassed(ValidationError):
    def __init__(self):
        super().__init__("The expiry must be in the future.", code="expiry_passed")


def _key_label(api_key: ApiKey, actor: User | None) -> str:
    label = f"{api_key.name} ({api_key.prefix})"
    return label if actor is not None and actor.pk == api_key.user_id else f"{label} of {api_key.user.get_username()}"


def api_key_create(*, user: User, name: str, scope: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Create a key for `user`, who asked for it, and return it with its secret value, which is never stored and
    cannot be shown again. ExpiryPassed if `expires_at` has already passed (ApiKey's one expiry rule)."""
    if expiry_passed(expires_at):
        raise ExpiryPassed()
    prefix = secrets.token_hex(4)
    key = f"{KEY_LABEL}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(user=user, name=name, prefix=prefix, key_hash=_key_hash(key), scope=scope,
                                        expires_at=expires_at)
        audit.record(AuditEvent.Kind.KEY_CREATED, user=user, detail=_key_label(api_key, user))
    return api_key, key


def api_key_revoke(*, api_key: ApiKey, actor: User | None = None, reason: str = "") -> bool:
    """Stop the key working at once, for good (the row stays, so its history remains visible); `actor` is who
    asked (None: the system), `reason` why, if not by itself. Return whether this call revoked it: a key already
    revoked stays as it was."""
    now = timezone.now()
    with transaction.atomic():
        if not ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now):
            api_key.refresh_from_db(fields=["revoked_at"])
            return False
        api_key.revoked_at = now
        label = _key_label(api_key, actor)
        audit.record(AuditEvent.Kind.KEY_REVOKED, user=actor, detail=f"{label}: {reason}" if reason else label)
    return True


def api_keys_revoke_all(*, user: User, actor: User | None, reason: str) -> int:
    """Revoke every key of `user` not revoked yet, expired ones included, each as `api_key_revoke` does (one audit
    row per key, naming `reason`, e.g. "password reset"). Return how many this call revoked."""
    with transaction.atomic():
        keys = list(ApiKey.objects.select_related("user").filter(user=user, revoked_at__isnull=True))
        return sum(api_key_revoke(api_key=api_key, actor=actor, reason=reason) for api_key in keys)


def api_key_authenticate(key: str) -> ApiKey | None:
    """Return the live key matching `key`, recording its use, or None for an unknown, revoked or expired key."""
    label, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if label != KEY_LABEL or not prefix or not secret:
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if api_key is None or not constant_time_compare(api_key.key_hash, _key_hash(key)):
        return None
    now = timezone.now()
    if not api_key.is_live(now) or not api_key.user.is_active:
        return None
    # Record use at minute precision: one write per key per minute, not one per request.
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
