import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac


def new_session_salt() -> str:
    return secrets.token_hex(16)


class User(AbstractUser):
    """A Strongbox account. Signing in uses the username; the e-mail address is unique and receives mail."""

    email = models.EmailField("email address")
    # Part of every session's auth hash: replacing it ends all of the user's sessions at their next request,
    # whatever the session backend (database, cache or signed cookie).
    session_salt = models.CharField(max_length=32, default=new_session_salt, editable=False)
    # Made by the sign-up form and not activated yet (accounts/signups.py): such an account holds its name and
    # address only for ACCOUNT_ACTIVATION_TIMEOUT. An account an administrator deactivated is never one.
    signup_pending = models.BooleanField(default=False, editable=False)

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique",
                                    violation_error_message="An account with this e-mail address already exists."),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique",
                                    violation_error_message="An account with this username already exists."),
        ]

    def save(self, *args, **kwargs):
        if self.is_active and self.signup_pending:  # activated, by its link or by an administrator: for good
            self.signup_pending = False
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "signup_pending"}
        super().save(*args, **kwargs)

    def _get_session_auth_hash(self, secret=None):
        return salted_hmac(
            "strongbox.accounts.User.session_auth_hash",
            f"{self.password}:{self.session_salt}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


def new_key_id() -> str:
    return secrets.token_urlsafe(9)


class ApiKey(models.Model):
    """A named credential for scripts. Only a SHA-256 of the key is stored; `prefix` identifies it in lists.

    The key itself is random (256 bits), so a fast hash is enough: nothing can be guessed from it.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    public_id = models.CharField(max_length=16, unique=True, default=new_key_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def save(self, *args, update_fields=None, **kwargs):
        # Revoking is for good: no form, admin page or script may bring a revoked key back by clearing the field.
        writes_revoked = update_fields is None or "revoked_at" in update_fields
        if writes_revoked and self.pk is not None and self.revoked_at is None and (
                ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=False).exists()):
            raise ValueError("A revoked API key cannot be un-revoked.")
        super().save(*args, update_fields=update_fields, **kwargs)

    def is_expired(self, now=None) -> bool:
        """Return whether the key's expiry has passed at `now` (default: now)."""
        return expiry_passed(self.expires_at, now)

    def is_live(self, now=None) -> bool:
        """Return whether the key still works (its owner's account aside): neither revoked nor expired."""
        return self.revoked_at is None and not self.is_expired(now)


def expiry_passed(expires_at, now=None) -> bool:
    """The one expiry rule for API keys: a key stops working at the instant `expires_at` (None: never).

    Creating a key whose expiry has already passed is refused by the same rule (services.api_key_create).
    """
    return expires_at is not None and expires_at <= (now or timezone.now())


class AuditEvent(models.Model):
    """A security-relevant event: who, what, when, from where. Rows are never edited."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOGIN_LOCKED = "login_locked", "Sign-in refused: too many failures"
        LOGOUT = "logout", "Signed out"
        SESSIONS_ENDED = "sessions_ended", "Signed out everywhere"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset by e-mail link"
        KEY_CREATED = "key_created", "API key created"
        KEY_REVOKED = "key_revoked", "API key revoked"
        DOCUMENT_DELETED = "document_deleted", "Document deleted"
        DOCUMENT_TRASHED = "document_trashed", "Document moved to the trash"
        DOCUMENT_RESTORED = "document_restored", "Document restored from the trash"
        ACCESS_REFUSED = "access_refused", "Access refused"
        # Values must fit in 20 characters (the column's length).
        TWO_FACTOR_ENABLED = "two_factor_enabled", "Two-factor sign-in turned on"
        TWO_FACTOR_DISABLED = "two_factor_disabled", "Two-factor sign-in turned off"
        RECOVERY_CODES_NEW = "recovery_codes_new", "New recovery codes made"
        RECOVERY_CODE_USED = "recovery_code_used", "Signed in with a recovery code"
        EMAIL_CHANGE_ASKED = "email_change_asked", "E-mail change requested"
        EMAIL_CHANGED = "email_changed", "E-mail address changed"
        ACCOUNT_CHANGED = "account_changed", "Account changed by an administrator"
        SHARE_CREATED = "share_created", "Document shared"
        SHARE_CHANGED = "share_changed", "Share permission changed"
        SHARE_REVOKED = "share_revoked", "Share revoked"
        LINK_CREATED = "link_created", "Share link created"
        LINK_REVOKED = "link_revoked", "Share link revoked"
        LINK_OPENED = "link_opened", "Share link opened"
        LINK_DOWNLOADED = "link_downloaded", "Downloaded through a share link"
        LINK_PASSWORD_FAILED = "link_password_failed", "Wrong share link password"
        LINK_LOCKED = "link_locked", "Share link password refused: too many failures"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    username = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]


class TwoFactorDevice(models.Model):
    """A user's authenticator app (TOTP, RFC 6238). It signs nobody in until confirmed with a first code.

    `last_used_step` is the time step of the last code accepted: a code is refused unless its step is later, so
    a code seen over someone's shoulder cannot be used again.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor_device")
    # The base32 secret, encrypted under STRONGBOX_TOTP_KEYS (accounts/secret_box.py); never stored in clear.
    encrypted_secret = models.CharField(max_length=255)
    confirmed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)


class RecoveryCode(models.Model):
    """A single-use code that stands in for the authenticator app. Only a SHA-256 of it is stored.

    The codes are random (about 79 bits), so a fast hash is enough, as for API keys.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="accounts_recovery_code_unique")]


class EmailChange(models.Model):
    """A request to move an account to a new address, confirmed by a link mailed there. Used once, then kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
    new_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
