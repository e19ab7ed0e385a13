"""Sharing reads, and the checks of what a user who sees a document may do with it (docs/sharing.md).

Seeing a document is decided inside the queries that fetch it (documents.selectors.documents_for_user); these
checks come after, for one document, and refuse with 403: a user it is shared with knows it exists."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from strongbox.documents import selectors as documents
from strongbox.sharing.models import Share, ShareLink

OWNER, EDITOR, READER = "owner", "editor", "reader"


def access(user, document) -> str:
    """Return what `user`, who sees `document` (a Document or DocumentRow), may do: OWNER (anything), EDITOR (change
    its title, description, category and tags) or READER (open and download it)."""
    if document.owner_id == user.pk:
        return OWNER
    editable = Share.objects.filter(document_id=document.pk, user_id=user.pk, can_edit=True).exists()
    return EDITOR if editable else READER


def require_editor(user, document) -> None:
    """Refuse (403) a user who may only read the document."""
    if access(user, document) == READER:
        raise PermissionDenied("You can read this document but not change it.")


def require_owner(user, document) -> None:
    """Refuse (403) anyone but the owner: only they delete, share and make links."""
    if document.owner_id != user.pk:
        raise PermissionDenied("Only the document's owner can do this.")


def owned_document(user, public_id: str, request=None):
    """Return the user's own document: Http404 as documents.document_for_user for outsiders, 403 for a user it is
    shared with."""
    document = documents.document_for_user(user, public_id, request)
    require_owner(user, document)
    return document


def shares_of(document) -> list[Share]:
    """Return the document's shares with their users, oldest first."""
    return list(Share.objects.filter(document_id=document.pk).select_related("user"))


def share_of(document, share_id: int) -> Share:
    share = Share.objects.filter(document_id=document.pk, pk=share_id).select_related("user", "document").first()
    if share is None:
        raise Http404("No such share.")
    return share


def links_of(document) -> list[ShareLink]:
    """Return the document's links that are not revoked, newest first (expired ones too, until revoked)."""
    return list(ShareLink.objects.filter(document_id=document.pk, revoked_at__isnull=True))


def link_of(document, link_id: int) -> ShareLink:
    link = ShareLink.objects.filter(document_id=document.pk, pk=link_id).select_related("document").first()
    if link is None:
        raise Http404("No such link.")
    return link
