"""Two-factor sign-in writes: an authenticator app (TOTP, RFC 6238) with single-use recovery codes.

Enabling or disabling it ends the user's other sessions; the view that calls these keeps its own session alive
with `update_session_auth_hash`. The secret is stored encrypted (secret_box.py): one that no configured key
decrypts raises SecretUnreadable, so a sign-in fails loudly instead of skipping the second factor.
"""

import hashlib
import re
import secrets
import time
from typing import Literal

import pyotp
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from strongbox.accounts import secret_box, services
from strongbox.accounts.models import RecoveryCode, TwoFactorDevice, User

ISSUER = "Strongbox"
# One step either side of now: phones whose clocks drift by up to half a minute still work.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper. 16 of 31 symbols is about 79 bits.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 16
_SEPARATORS = re.compile(r"[\s-]+")


class AlreadyEnabled(Exception):
    """Two-factor sign-in is on: turn it off before setting up another app."""


def device_secret(device: TwoFactorDevice) -> str:
    """Return the device's secret in clear (to show while setting up, and to check codes)."""
    return secret_box.unseal(device.encrypted_secret, owner=f"user {device.user_id}")


def _totp(device: TwoFactorDevice) -> pyotp.TOTP:
    return pyotp.TOTP(device_secret(device))


def _normalize(code: str) -> str:
    return _SEPARATORS.sub("", code).lower()


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def _matching_step(device: TwoFactorDevice, code: str) -> int | None:
    """Return the time step whose code is `code`, within the window around now, or None."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp, now = _totp(device), totp_step()
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if constant_time_compare(code, totp.generate_otp(step)):
            return step
    return None


def _claim_step(device: TwoFactorDevice, step: int) -> bool:
    # One conditional UPDATE: of two requests racing with the same code, exactly one wins.
    fresh = Q(last_used_step__isnull=True) | Q(last_used_step__lt=step)
    return TwoFactorDevice.objects.filter(fresh, pk=device.pk).update(last_used_step=step) == 1


def totp_step() -> int:
    """Return the current TOTP time step (30-second periods since the epoch)."""
    return int(time.time()) // 30


def provisioning_uri(device: TwoFactorDevice) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return _totp(device).provisioning_uri(name=device.user.get_username(), issuer_name=ISSUER)


def two_factor_begin_setup(*, user: User) -> TwoFactorDevice:
    """Give the user a new, unconfirmed secret (replacing an unconfirmed one); AlreadyEnabled if it is on."""
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed:
            raise AlreadyEnabled
        if device is None:
            device = TwoFactorDevice(user=user)
        device.encrypted_secret, device.last_used_step = secret_box.seal(pyotp.random_base32()), None
        device.save()
    return device


def two_factor_confirm(*, user: User, code: str) -> list[str] | None:
    """Turn two-factor sign-in on if `code` comes from the app being set up, and end the user's other sessions.

    Return the first recovery codes (shown once), or None when the code is wrong or no setup is under way.
    """
    device = TwoFactorDevice.objects.filter(user=user, confirmed=False).first()
    step = _matching_step(device, _normalize(code)) if device else None
    if step is None:
        return None
    with transaction.atomic():
        # The confirming code counts as used, so it cannot also open a sign-in.
        # Conditional on the secret too: a setup restarted meanwhile has a new one, which this code is not for.
        pending = TwoFactorDevice.objects.filter(pk=device.pk, encrypted_secret=device.encrypted_secret,
                                                 confirmed=False)
        if pending.update(confirmed=True, last_used_step=step) != 1:
            return None
        codes = recovery_codes_regenerate(user=user)
        services.sessions_end_all(user=user)
    return codes


def two_factor_disable(*, user: User) -> bool:
    """Turn two-factor sign-in off, forget its secret and recovery codes, and end the user's other sessions.

    Return whether it was on.
    """
    with transaction.atomic():
        deleted, _ = TwoFactorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if deleted:
            services.sessions_end_all(user=user)
    return bool(deleted)


def two_factor_verify(*, user: User, code: str) -> Literal["totp", "recovery"] | None:
    """Check a sign-in's second factor: a code from the app not used before, or an unused recovery code, which
    this consumes. Return which one matched, or None."""
    device = TwoFactorDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return None
    code = _normalize(code)
    step = _matching_step(device, code)
    if step is not None:
        return "totp" if _claim_step(device, step) else None
    if len(code) != RECOVERY_LENGTH:
        return None
    used = RecoveryCode.objects.filter(user=user, code_hash=_recovery_hash(code), used_at__isnull=True).update(
        used_at=timezone.now())
    return "recovery" if used == 1 else None


def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's recovery codes with new ones and return them; only their hashes are kept."""
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_recovery_hash(code)) for code in codes)
    return ["-".join(code[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for code in codes]


def two_factor_secrets_reencrypt() -> tuple[int, list[str]]:
    """Encrypt every stored secret again with the first of STRONGBOX_TOTP_KEYS, so the others can be dropped.

    Return how many were re-encrypted, and the usernames whose secret no configured key decrypts (left as they are).
    """
    done, unreadable = 0, []
    for device in TwoFactorDevice.objects.select_related("user").iterator():
        try:
            sealed = secret_box.reseal(device.encrypted_secret, owner=f"user {device.user_id}")
        except secret_box.SecretUnreadable:
            unreadable.append(device.user.get_username())
            continue
        # Conditional on the old value: a setup restarted meanwhile wrote a new secret, which stays.
        done += TwoFactorDevice.objects.filter(pk=device.pk, encrypted_secret=device.encrypted_secret).update(
            encrypted_secret=sealed)
    return done, unreadable
