"""Sharing writes: shares with other users and share links. Views and the API call these, so each rule is enforced
once (docs/sharing.md). Every change re-indexes the document (whose searches find it) and bumps the cached values
of everyone who sees it, the user who just lost it included."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from strongbox.accounts import audit
from strongbox.accounts.models import AuditEvent
from strongbox.documents import cache
from strongbox.documents.models import Document
from strongbox.documents.services import document_index
from strongbox.lib.ratelimit import hit, release, reserve
from strongbox.sharing.models import Share, ShareLink

TOKEN_BYTES = 32  # 256 bits: guessing one is hopeless, so an unknown token needs no rate limit of its own
EXPIRY_CHOICES = (1, 7, 30)
# The same words for a name nobody has and for an account that cannot receive shares (inactive, or pending).
UNKNOWN_RECIPIENT = "Nobody with this username or e-mail address can receive shares. Check the spelling."


class ShareRefused(ValidationError):
    """The share cannot be made; the message says why, for the form's recipient field."""


def _require_owner(document: Document, actor) -> None:
    # Only the owner shares, changes or revokes: an editor may change the document's fields, never who sees it.
    if actor is None or document.owner_id != actor.pk:
        raise PermissionDenied("Only the document's owner can share it.")


def _recipient(name: str):
    """Return the active user whose username or e-mail address is `name` (case-insensitively), else None."""
    name = name.strip()
    if not name:
        return None
    found = list(get_user_model().objects.filter(Q(username__iexact=name) | Q(email__iexact=name),
                                                 is_active=True)[:2])
    return found[0] if len(found) == 1 else None


def _changed(document: Document, *also: int) -> None:
    """Re-index the document with its readers and bump everyone who sees it, and `also` those who no longer do."""
    document_index(document)
    cache.bump_document(document)
    for user_id in also:
        cache.bump(user_id)


def share_create(*, document: Document, actor, recipient: str, can_edit: bool = False) -> Share:
    """Share the document with the user named `recipient` (username or e-mail address). ShareRefused for an
    unknown name (counted: SHARE_LOOKUP_FAILURES_PER_USER an hour, against trying names in bulk), the owner
    themself, or a user it is shared with already."""
    _require_owner(document, actor)
    user = _recipient(recipient)
    if user is None:
        if hit(f"share-lookup:{actor.pk}", settings.SHARE_LOOKUP_FAILURES_PER_USER, 3600):
            raise ShareRefused("You have tried too many names that did not match anyone. Try again in an hour.",
                               code="too_many_lookups")
        raise ShareRefused(UNKNOWN_RECIPIENT, code="unknown_user")
    if user.pk == actor.pk:
        raise ShareRefused("This is your own document: share it with someone else.", code="self")
    try:
        with transaction.atomic():
            share = Share.objects.create(document=document, user=user, can_edit=can_edit)
            _changed(document)
            audit.record(AuditEvent.Kind.SHARE_CREATED, user=actor,
                         detail=f"{document.public_id} with {user.get_username()} ({_permission(can_edit)})")
    except IntegrityError:
        raise ShareRefused(f"It is shared with {user.get_username()} already: change their permission below.",
                           code="duplicate") from None
    return share


def _permission(can_edit: bool) -> str:
    return "can edit" if can_edit else "can read"


def share_update(*, share: Share, actor, can_edit: bool) -> Share:
    """Let the recipient edit the document's fields, or only read it."""
    _require_owner(share.document, actor)
    with transaction.atomic():
        Share.objects.filter(pk=share.pk).update(can_edit=can_edit)
        share.can_edit = can_edit
        cache.bump_document(share.document)
        audit.record(AuditEvent.Kind.SHARE_CHANGED, user=actor, detail=f"{share.document.public_id} with "
                                                                       f"{share.user.get_username()} "
                                                                       f"({_permission(can_edit)})")
    return share


def share_revoke(*, share: Share, actor) -> None:
    """Stop sharing the document with the share's user: from now on they get the same 404 as anyone else."""
    document = share.document
    _require_owner(document, actor)
    with transaction.atomic():
        Share.objects.filter(pk=share.pk).delete()
        _changed(document, share.user_id)
        audit.record(AuditEvent.Kind.SHARE_REVOKED, user=actor,
                     detail=f"{document.public_id} with {share.user.get_username()}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_create(*, document: Document, actor, days: int, password: str = "") -> tuple[ShareLink, str]:
    """Create a link to the document valid for `days` (at most SHARE_LINK_MAX_DAYS) with an optional password;
    return it and its token, which is stored only as a hash and so can be shown only now."""
    _require_owner(document, actor)
    if not 1 <= days <= settings.SHARE_LINK_MAX_DAYS:
        raise ShareRefused(f"A link can be valid for 1 to {settings.SHARE_LINK_MAX_DAYS} days.", code="expiry")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink.objects.create(document=document, token_hash=token_hash(token),
                                    password=make_password(password) if password else "",
                                    expires_at=timezone.now() + timedelta(days=days))
    audit.record(AuditEvent.Kind.LINK_CREATED, user=actor,
                 detail=f"{document.public_id} link {link.pk}, {days} days{', password' if password else ''}")
    return link, token


def link_revoke(*, link: ShareLink, actor) -> None:
    """Revoke a link: it answers 404 from now on, as an unknown one does."""
    _require_owner(link.document, actor)
    if ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit.record(AuditEvent.Kind.LINK_REVOKED, user=actor, detail=f"{link.document.public_id} link {link.pk}")


def link_for_token(token: str) -> ShareLink | None:
    """Return the live link of this token (not expired, not revoked, its document not deleted), else None."""
    if not token or len(token) > 100:
        return None
    return (ShareLink.objects.select_related("document")
            .filter(token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now(),
                    document__in=Document.objects.all()).first())


def _password_limits(request: HttpRequest, link: ShareLink) -> list[tuple[str, int]]:
    return [(f"share-link:{link.pk}", settings.SHARE_LINK_FAILURES_PER_LINK),
            (f"share-link:address:{request.META.get('REMOTE_ADDR', '')}", settings.SHARE_LINK_FAILURES_PER_ADDRESS)]


def link_check_password(request: HttpRequest, link: ShareLink, password: str) -> tuple[bool, int | None]:
    """Check a password typed for the link; return (right, seconds to wait when refused unchecked).

    As sign-in does (accounts/throttle.py), each check first reserves an attempt of the link's and of the client
    address's budget in the shared cache, atomically, and gives it back only when the password was right: however
    many processes answer at once, no more than the limit are checked in a window."""
    reserved, waits = [], []
    window = settings.SHARE_LINK_LOCKOUT_WINDOW
    for ident, limit in _password_limits(request, link):
        wait, key = reserve(ident, limit, window)
        if key is not None:
            reserved.append(key)
        if wait:
            waits.append(wait)
    if waits:
        for key in reserved:
            release(key)
        audit.record(AuditEvent.Kind.LINK_LOCKED, request, detail=f"{link.document.public_id} link {link.pk}")
        return False, max(waits)
    if check_password(password, link.password):
        for key in reserved:
            release(key)
        return True, None
    audit.record(AuditEvent.Kind.LINK_PASSWORD_FAILED, request, detail=f"{link.document.public_id} link {link.pk}")
    return False, None


def link_opened(request: HttpRequest, link: ShareLink) -> None:
    audit.record(AuditEvent.Kind.LINK_OPENED, request, detail=f"{link.document.public_id} link {link.pk}")


def link_downloaded(request: HttpRequest, link: ShareLink) -> None:
    """Count a download through the link (one statement, so concurrent downloads all count) and audit it."""
    ShareLink.objects.filter(pk=link.pk).update(download_count=F("download_count") + 1)
    audit.record(AuditEvent.Kind.LINK_DOWNLOADED, request, detail=f"{link.document.public_id} link {link.pk}")
