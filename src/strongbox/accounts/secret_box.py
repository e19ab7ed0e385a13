"""Two-factor secrets encrypted at rest: Fernet (AES-128-CBC with HMAC-SHA256) under settings.TOTP_KEYS.

The first key encrypts; every key decrypts, so a key is rotated by putting the new one first, running
`strongbox rotatetotpkeys`, then dropping the old one (docs/operations.md, "Keys and file permissions"). A copy
of the database alone no longer lets anyone produce a user's codes.

cryptography is imported when a secret is sealed or opened: its Rust and OpenSSL libraries hold about 9 MB in
every process that imports them, and most requests never touch a two-factor secret.
"""

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_CLEAR = re.compile(r"[A-Z2-7]+=*")


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret does not decrypt with any of STRONGBOX_TOTP_KEYS: the key that encrypted it is missing."""


def _box():
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key) for key in settings.TOTP_KEYS])


def _invalid_token() -> type[Exception]:
    from cryptography.fernet import InvalidToken

    return InvalidToken


def seal(secret: str) -> str:
    """Return `secret` encrypted with the first key."""
    return _box().encrypt(secret.encode()).decode()


def _unreadable(owner: str) -> SecretUnreadable:
    return SecretUnreadable(
        f"The two-factor secret of {owner} does not decrypt with any key in STRONGBOX_TOTP_KEYS: the key it was "
        "encrypted with is missing. Put that key back after the new one (see docs/operations.md).")


def unseal(token: str, *, owner: str) -> str:
    """Return the secret in `token`; SecretUnreadable, naming `owner` and the setting, if no key opens it."""
    try:
        return _box().decrypt(token.encode()).decode()
    except _invalid_token():
        raise _unreadable(owner) from None


def reseal(token: str, *, owner: str) -> str:
    """Return `token` encrypted again with the first key (rotation); SecretUnreadable if no key opens it."""
    try:
        return _box().rotate(token.encode()).decode()
    except _invalid_token():
        raise _unreadable(owner) from None


def is_clear(value: str) -> bool:
    """Whether `value` is a base32 secret as stored before encryption (a Fernet token is never all upper case)."""
    return bool(_CLEAR.fullmatch(value))
