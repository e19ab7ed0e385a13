"""Shares and share links of a document in the API: thin callers of the sharing services, owner only
(docs/sharing.md)."""

from django.http import HttpRequest
from django.urls import reverse
from ninja import Path, Router, Status

from strongbox.api.documents import ERRORS, require_permission
from strongbox.api.errors import ApiError
from strongbox.api.schemas import Problem, ShareIn, ShareLinkCreated, ShareLinkIn, ShareLinkOut, ShareOut
from strongbox.documents import selectors as documents
from strongbox.sharing import selectors, services
from strongbox.sharing.forms import LinkForm, expiry_choices

links = Router(tags=["sharing"])
# The database's integers are 64-bit: a larger id is a missing link, not an overflow.
LINK_ID = Path(..., ge=1, le=2**63 - 1)
SHARE_ID = Path(..., ge=1, le=2**63 - 1)


def _owned(request: HttpRequest, document_id: str):
    """The caller's own document: 404 as for a missing one for outsiders, 403 for a user it is shared with."""
    document = documents.document_for_user(request.user, document_id, request)
    require_permission(selectors.require_owner, request, document)
    return document


def link_out(link) -> dict:
    return {"id": link.pk, "created_at": link.created_at, "expires_at": link.expires_at,
            "has_password": link.has_password, "download_count": link.download_count}


@links.get("/documents/{document_id}/links", response={200: list[ShareLinkOut], **ERRORS}, url_name="links")
def list_links(request: HttpRequest, document_id: str):
    """Your document's share links that are not revoked, newest first (expired ones too). Their URLs are not
    stored, so they are not shown: only the answer that created a link has it."""
    return [link_out(link) for link in selectors.links_of(_owned(request, document_id))]


@links.post("/documents/{document_id}/links", response={201: ShareLinkCreated, **ERRORS}, url_name="link_create")
def create_link(request: HttpRequest, document_id: str, body: ShareLinkIn):
    """Make a link anyone can open without an account, valid for `expires_days`, with an optional password. The
    answer holds the link's URL, once."""
    document = _owned(request, document_id)
    form = LinkForm({"expires": str(body.expires_days), "password": body.password or ""})
    if not form.is_valid():
        names = {"expires": "expires_days"}
        allowed = ", ".join(days for days, _ in expiry_choices())
        errors = [{"field": names.get(field, field),
                   "message": f"must be one of {allowed}" if field == "expires" else str(message)}
                  for field, messages in form.errors.items() for message in messages]
        raise ApiError(400, "invalid_request", "Some fields are missing or not valid.", errors=errors)
    try:
        link, token = services.link_create(document=document, actor=request.user,
                                           days=int(form.cleaned_data["expires"]),
                                           password=form.cleaned_data["password"])
    except services.ShareRefused as refusal:
        raise ApiError(400, "invalid_request", refusal.messages[0],
                       errors=[{"field": "expires_days", "message": refusal.messages[0]}]) from None
    url = request.build_absolute_uri(reverse("sharing:link", args=[token]))
    return Status(201, {**link_out(link), "url": url})


@links.delete("/documents/{document_id}/links/{link_id}", response={204: None, **ERRORS}, url_name="link_revoke")
def revoke_link(request: HttpRequest, document_id: str, link_id: int = LINK_ID):
    """Revoke a link: from now on it opens nothing (the same 404 as an unknown link). Revoking it again is fine."""
    link = selectors.link_of(_owned(request, document_id), link_id)
    services.link_revoke(link=link, actor=request.user)
    return Status(204, None)


def share_out(share) -> dict:
    return {"id": share.pk, "user": share.user.get_username(), "permission": "edit" if share.can_edit else "read",
            "created_at": share.created_at}


@links.get("/documents/{document_id}/shares", response={200: list[ShareOut], **ERRORS}, url_name="shares")
def list_shares(request: HttpRequest, document_id: str):
    """The users your document is shared with, oldest first."""
    return [share_out(share) for share in selectors.shares_of(_owned(request, document_id))]


@links.post("/documents/{document_id}/shares", response={201: ShareOut, 409: Problem, **ERRORS},
            url_name="share_create")
def create_share(request: HttpRequest, document_id: str, body: ShareIn):
    """Share your document with another user (by username or e-mail address), to read it or also edit its fields.
    Names that match nobody are counted (429 after too many an hour)."""
    document = _owned(request, document_id)
    if "\x00" in body.recipient:
        raise ApiError(400, "invalid_request", "Null characters are not allowed.",
                       errors=[{"field": "recipient", "message": "contains a null character"}])
    try:
        share = services.share_create(document=document, actor=request.user, recipient=body.recipient,
                                      can_edit=body.permission == "edit")
    except services.ShareRefused as refusal:
        message = refusal.messages[0]
        if refusal.code == "too_many_lookups":
            raise ApiError(429, "rate_limited", message) from None
        if refusal.code == "duplicate":
            raise ApiError(409, "already_shared", message) from None
        raise ApiError(400, "invalid_request", message, errors=[{"field": "recipient", "message": message}]) from None
    return Status(201, share_out(share))


@links.delete("/documents/{document_id}/shares/{share_id}", response={204: None, **ERRORS}, url_name="share_revoke")
def revoke_share(request: HttpRequest, document_id: str, share_id: int = SHARE_ID):
    """Stop sharing the document with that user: from then on they get the 404 of a missing document."""
    share = selectors.share_of(_owned(request, document_id), share_id)
    services.share_revoke(share=share, actor=request.user)
    return Status(204, None)
