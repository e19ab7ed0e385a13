"""Account reads."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone

from strongbox.accounts.models import ApiKey, EmailChange, RecoveryCode, TwoFactorDevice, User
from strongbox.accounts.tokens import email_change_id_for_token


def api_keys_for_user(user) -> list[ApiKey]:
    """Return all of the user's keys, newest first, revoked ones included."""
    return list(ApiKey.objects.filter(user_id=user.pk))


def api_key_for_user(user, public_id: str) -> ApiKey:
    """Return one of the user's keys, or 404 alike for someone else's or a missing one."""
    return get_object_or_404(ApiKey, user_id=user.pk, public_id=public_id)


def two_factor_device_for_user(user) -> TwoFactorDevice | None:
    """Return the user's authenticator app, confirmed or still being set up, or None."""
    return TwoFactorDevice.objects.filter(user_id=user.pk).first()


def two_factor_enabled(user) -> bool:
    """Return whether signing in as `user` needs a second factor."""
    return TwoFactorDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user_id=user.pk, used_at__isnull=True).count()


def active_user(user_id) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).first()


def email_change_timeout() -> int:
    """Return the seconds an e-mail change link works (setting EMAIL_CHANGE_TIMEOUT, default a day)."""
    return getattr(settings, "EMAIL_CHANGE_TIMEOUT", 24 * 3600)


def email_change_for_token(*, user, token: str) -> EmailChange | None:
    """Return the user's unused, unexpired e-mail change the token was made for, or None alike for a bad, used,
    expired or someone else's token."""
    change_id = email_change_id_for_token(token)
    if change_id is None:
        return None
    since = timezone.now() - timedelta(seconds=email_change_timeout())
    return (EmailChange.objects.select_related("user")
            .filter(pk=change_id, user_id=user.pk, used_at__isnull=True, created_at__gt=since).first())
