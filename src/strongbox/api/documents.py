"""Documents, search suggestions and notifications: thin callers of the same services as the web pages."""

import re
from collections.abc import Callable
from datetime import date
from typing import Literal

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Path, Query, Router, Status

from strongbox.api.errors import ApiError
from strongbox.api.schemas import (
    CATEGORY_HELP,
    DocumentOut,
    DocumentPage,
    DocumentPatch,
    MarkedRead,
    MarkRead,
    NotificationOut,
    Problem,
    Suggestion,
    UnreadCount,
)
from strongbox.documents import cache, categories, intake, previews, selectors, services
from strongbox.documents.downloads import document_file_response
from strongbox.documents.forms import SORTS, DocumentFieldsForm, UploadForm
from strongbox.documents.models import Category, Document, PreviewStatus
from strongbox.sharing import selectors as sharing

router = Router(tags=["documents"])
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}
UPLOAD_FIELDS = {"title", "description", "category", "tags"}
UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object",
        "required": ["file"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "maxLength": 100,
                      "description": "Omitted or empty: the file's name without its extension, made unique among your "
                                     "documents (\"Invoice\", \"Invoice (2)\")."},
            "description": {"type": "string", "maxLength": 2000},
            "category": {"type": "string", "maxLength": 20, "default": Category.OTHER,
                         "description": CATEGORY_HELP + " Left out or empty: other, as the web form's default."},
            "tags": {"type": "string", "maxLength": 1100, "description": "Comma-separated."},
            "file": {"type": "string", "format": "binary"},
        },
    }}},
}
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
JSON = "application/json; charset=utf-8"
_VERSION_TAG = re.compile(r'^(?:W/)?"v(\d+)"$')


def json_response(payload, status: int = 200) -> HttpResponse:
    """The body as ninja would send it, serialized by orjson without validating it field by field: the payloads
    are built here from stored values of the declared shapes (tests/api/test_schema.py checks them
    against the OpenAPI schema)."""
    return HttpResponse(_dumps(payload), status=status, content_type=JSON)


def _dumps(payload) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_UTC_Z)


def _content_url() -> Callable[[str], str]:
    """Return a function giving a document's content URL, reversed once instead of once per document."""
    before, _, after = reverse("api:document_content", args=["-"]).rpartition("-")
    return lambda public_id: f"{before}{public_id}{after}"


def _preview_url() -> Callable[[str, int, str], str]:
    """Return a function giving the URL of a document's preview image (page 0: the thumbnail), reversed once. The
    rendering's key in ?v= changes with each rendering, so a client may cache an image by its URL."""
    before, _, after = reverse("api:document_preview", args=["-", 0]).rpartition("-/preview/0")
    return lambda public_id, page, key: f"{before}{public_id}/preview/{page}{after}?v={key}"


def _previews(document: Document | selectors.DocumentRow, preview_url: Callable | None) -> dict:
    """The preview fields of a Document or DocumentRow (both carry them): image URLs only once a preview is ready."""
    fields = {"text_source": document.text_source, "preview_status": document.preview_status,
              "page_count": document.page_count, "thumbnail_url": None, "preview_page_urls": []}
    if document.preview_status == PreviewStatus.READY and document.preview_key:
        url, key = preview_url or _preview_url(), document.preview_key
        fields["thumbnail_url"] = url(document.public_id, previews.THUMBNAIL, key)
        fields["preview_page_urls"] = [url(document.public_id, page, key)
                                       for page in range(1, document.preview_pages + 1)]
    return fields


def document_out(document: Document | selectors.DocumentRow, content_url: Callable[[str], str] | None = None,
                 *, viewer_id: int | None = None, preview_url: Callable | None = None) -> dict:
    """The document as the API shows it; `viewer_id` (for a Document: a row knows) says whose `shared` it is."""
    row = isinstance(document, selectors.DocumentRow)
    tags = list(document.tag_list) if row else [tag.name for tag in document.tags.all()]
    return {**_previews(document, preview_url),
        "id": document.public_id, "title": document.title, "description": document.description,
        "category": document.category, "tags": tags, "filename": document.original_filename,
        "content_type": document.content_type, "size": document.size, "sha256": document.sha256,
        "text_status": document.text_status, "text_error": document.text_error, "version": document.version,
        "created_at": document.created_at, "updated_at": document.updated_at,
        "content_url": (content_url or _content_url())(document.public_id),
        "owner": document.owner_name if row else document.owner.get_username(),
        "shared": document.shared if row else viewer_id is not None and document.owner_id != viewer_id,
    }


def etag(document: Document | selectors.DocumentRow) -> str:
    return f'"v{document.version}"'


def if_match_version(request: HttpRequest, document: Document) -> int | None:
    """Return the version an If-Match header requires, None without one; 412 if it is not the current one."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    # Compared as digits, not ints: Python refuses to convert more than 4,300 of them.
    versions = {m.group(1).lstrip("0") or "0" for tag in header.split(",") if (m := _VERSION_TAG.match(tag.strip()))}
    if str(document.version) not in versions:
        raise ApiError(412, "precondition_failed", "The document changed since you read it (its ETag differs). "
                                                   "Fetch it again and reapply your change.")
    return document.version


def require_permission(check: Callable, request: HttpRequest, document: Document) -> None:
    """Refuse with 403 what a user a document is shared with may not do to it (sharing/selectors.py)."""
    try:
        check(request.user, document)
    except PermissionDenied as refusal:
        raise ApiError(403, "not_permitted", str(refusal)) from None


def _date(name: str, value: str | None) -> date | None:
    # Dates are parsed here rather than by pydantic, which would also take "0" as 1970-01-01.
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid_request", f"{name} is not a date (YYYY-MM-DD).") from None


def _title_taken() -> ApiError:
    return ApiError(409, "title_taken", "You already have a document with this title.")


def _gone() -> ApiError:
    # 409 rather than 404: the caller named a document that existed when its request began.
    return ApiError(409, "document_deleted", "The document was deleted while your request was being answered.")


def _invalid(form) -> ApiError:
    """Return the error for a form that failed: 409 for a title in use, else 400 listing every field's problem."""
    if any(error.code == "title_taken" for error in form.errors.as_data().get("title", [])):
        return _title_taken()
    errors = [{"field": field, "message": str(message)} for field, messages in form.errors.items()
              for message in messages]
    return ApiError(400, "invalid_request", "Some fields are missing or not valid.", errors=errors)


@router.get("/documents", response={200: DocumentPage, **ERRORS}, url_name="documents")
def list_documents(request: HttpRequest, page: int = Query(1, ge=1, le=100_000),
                   page_size: int = Query(50, ge=1, le=settings.API_MAX_PAGE_SIZE),
                   q: str = Query("", max_length=200),
                   category: str | None = Query(None, min_length=1, max_length=20, description=CATEGORY_HELP),
                   tag: str = Query("", max_length=50), uploaded_from: str | None = Query(None, pattern=ISO_DATE),
                   uploaded_until: str | None = Query(None, pattern=ISO_DATE),
                   ordering: Literal[tuple(SORTS)] | None = None,  # type: ignore[valid-type]
                   shared: bool | None = Query(None, description="true: only documents shared with you; false: "
                                                                 "only your own; left out: both.")):
    """List your documents and those shared with you, newest first (or by `ordering`; best match first when
    searching with `q`)."""
    if "\x00" in q + tag:
        raise ApiError(400, "invalid_request", "Null characters are not allowed.")
    if category and not categories.is_category(request.user, category):
        raise ApiError(400, "invalid_request", "category is not one of your categories (GET /api/v1/categories).")
    start, end = _date("uploaded_from", uploaded_from), _date("uploaded_until", uploaded_until)
    if start and end and start > end:
        raise ApiError(400, "invalid_request", "uploaded_until is before uploaded_from.")
    query = selectors.ListQuery(q=q, category=category or "", tag=tag, date_from=start, date_to=end,
                                sort=ordering or "", shared=shared)
    # The body is cached, and tagged, under the user's documents version (it changes with their documents), per
    # query string as sent, like the page's (documents/views.py).
    entry = cache.Entry(request.user.pk, "api-documents", sorted(request.GET.lists()))
    if not_modified := _not_modified(request, entry.etag):
        return not_modified

    def body() -> bytes:
        result = selectors.document_page(request.user, query, page, page_size=page_size)
        paginator = result.page.paginator
        documents = result.documents if page <= paginator.num_pages else []
        content_url, preview_url = _content_url(), _preview_url()
        return _dumps({"count": paginator.count, "page": page, "pages": paginator.num_pages, "page_size": page_size,
                       "results": [document_out(d, content_url, preview_url=preview_url) for d in documents]})

    response = HttpResponse(entry.get(body), content_type=JSON)
    response["ETag"] = entry.etag
    return response


def _not_modified(request: HttpRequest, tag: str) -> HttpResponse | None:
    """Return a 304 for a request whose If-None-Match names `tag`, else None."""
    if tag not in [candidate.strip() for candidate in request.headers.get("If-None-Match", "").split(",")]:
        return None
    response = HttpResponse(status=304)
    response["ETag"] = tag
    return response


@router.post("/documents", response={201: DocumentOut, 409: Problem, 413: Problem, 415: Problem, **ERRORS},
             openapi_extra={"requestBody": UPLOAD_BODY}, url_name="document_create")
def create_document(request: HttpRequest, response: HttpResponse):
    """Upload a file with the same fields as the web form: title, description, category, tags, file."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "Upload with Content-Type: multipart/form-data.")
    fields, files = request.POST, request.FILES  # parsing the body is what detects an oversized file
    if getattr(request, "upload_too_large", False):
        raise ApiError(413, "file_too_large", f"The file is larger than the {settings.MAX_UPLOAD_SIZE} byte limit.")
    unknown = sorted(set(fields) - UPLOAD_FIELDS) + sorted(set(files) - {"file"})
    if unknown:
        raise ApiError(400, "unknown_field", f"Not fields you can set: {', '.join(unknown)}.",
                       errors=[{"field": name, "message": "is read-only or unknown"} for name in unknown])
    if not fields.get("category"):
        # The web form starts at Other; a script that leaves the category out gets the same.
        fields = fields.copy()
        fields["category"] = Category.OTHER
    form = UploadForm(fields, files, owner=request.user)
    if not form.is_valid():
        raise _invalid(form)
    data = form.cleaned_data
    try:
        document = intake.document_create_named(owner=request.user, title=data["title"],
                                                description=data["description"], category=data["category"],
                                                tags=data["tags"], upload=data["file"], kind=form.kind).document
    except services.TitleTaken:
        raise _title_taken() from None
    except services.QuotaExceeded as error:
        raise ApiError(413, "quota_exceeded", str(error)) from None
    response["Location"] = reverse("api:document", args=[document.public_id])
    response["ETag"] = etag(document)
    return Status(201, document_out(document))


@router.get("/documents/{document_id}", response={200: DocumentOut, 304: None, **ERRORS}, url_name="document")
def get_document(request: HttpRequest, document_id: str):
    """One document's metadata, with an ETag; If-None-Match with the current ETag answers 304."""
    document = selectors.document_row(request.user, document_id, request)
    if not_modified := _not_modified(request, etag(document)):
        return not_modified
    response = json_response(document_out(document))
    response["ETag"] = etag(document)
    return response


@router.patch("/documents/{document_id}", response={200: DocumentOut, 409: Problem, 412: Problem, 413: Problem,
                                                   **ERRORS},
              url_name="document_update")
def update_document(request: HttpRequest, response: HttpResponse, document_id: str, changes: DocumentPatch):
    """Change title, description, category or tags; the fields you leave out keep their stored values. Send
    If-Match with the ETag you read to avoid overwriting someone else's change (412 if it is stale)."""
    document = selectors.document_for_user(request.user, document_id, request)
    require_permission(sharing.require_editor, request, document)
    version = if_match_version(request, document)
    changed = changes.dict(exclude_unset=True, exclude_none=True)
    # The form checks the fields sent; the ones left out are filled in as read only to make it complete.
    current = {"title": document.title, "description": document.description, "category": document.category,
               "tags": [tag.name for tag in document.tags.all()]}
    merged = {**current, **changed}
    form = DocumentFieldsForm({**merged, "tags": ", ".join(merged["tags"])}, owner=document.owner, document=document)
    if not form.is_valid():
        raise _invalid(form)
    try:
        services.document_update(document=document, if_version=version,
                                 **{name: form.cleaned_data[name] for name in changed})
    except services.TitleTaken:
        raise _title_taken() from None
    except services.DocumentGone:
        raise _gone() from None
    except services.VersionConflict:
        raise ApiError(412, "precondition_failed", "The document changed while you were editing it.") from None
    response["ETag"] = etag(document)
    return Status(200, document_out(document, viewer_id=request.user.pk))


@router.delete("/documents/{document_id}", response={204: None, 409: Problem, 412: Problem, **ERRORS},
               url_name="document_delete")
def delete_document(request: HttpRequest, document_id: str):
    """Move a document to the trash (If-Match honoured as for PATCH): restore it or delete it for good under
    /trash; it is deleted for good after STRONGBOX_TRASH_DAYS."""
    document = selectors.document_for_user(request.user, document_id, request)
    require_permission(sharing.require_owner, request, document)
    try:
        services.document_trash(document=document, actor=request.user,
                                if_version=if_match_version(request, document))
    except services.DocumentGone:
        raise _gone() from None
    except services.VersionConflict:
        raise ApiError(412, "precondition_failed", "The document changed since you read it.") from None
    return Status(204, None)


FILE_BODY = {"description": "The file's bytes, with its stored Content-Type.",
             "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}


@router.get("/documents/{document_id}/content", response={200: None, 206: None, 304: None, 416: Problem, **ERRORS},
            openapi_extra={"responses": {200: FILE_BODY, 206: FILE_BODY}}, url_name="document_content")
def document_content(request: HttpRequest, document_id: str):
    """The file itself, exactly as uploaded. Honours Range, If-Range and If-None-Match."""
    return document_file_response(request, selectors.document_for_user(request.user, document_id, request))


IMAGE_BODY = {"description": "The image (WebP).", "content": {"image/webp": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}


@router.get("/documents/{document_id}/preview/{page}", response={200: None, 304: None, **ERRORS},
            openapi_extra={"responses": {200: IMAGE_BODY}}, url_name="document_preview")
def document_preview(request: HttpRequest, document_id: str,
                     page: int = Path(..., ge=0, le=100_000, description="0: the thumbnail; 1 to the number of "
                                                                         "page images: a page."),
                     v: str = Query("", max_length=100, description="The rendering's key, as in the document's "
                                                                    "image URLs (ignored: it only makes the URL "
                                                                    "change with each rendering).")):
    """A preview image of the document, as `thumbnail_url` and `preview_page_urls` name them; 404 while there is
    no preview or for a page it does not have. Honours If-None-Match."""
    return previews.image_response(request, selectors.document_for_user(request.user, document_id, request), page)


@router.get("/search/suggest", response={200: list[Suggestion], **ERRORS}, url_name="search_suggest")
def suggest(request: HttpRequest, q: str = Query(..., min_length=1, max_length=200),
            limit: int = Query(8, ge=1, le=20)):
    """Titles of your best-matching documents for a partly typed query, for autocomplete."""
    return [{"id": d.public_id, "title": d.title} for d in selectors.search_suggestions(request.user, q, limit=limit)]


notifications = Router(tags=["notifications"])


@notifications.get("/notifications", response={200: list[NotificationOut], **ERRORS}, url_name="notifications")
def list_notifications(request: HttpRequest, limit: int = Query(20, ge=1, le=100)):
    """Your newest notifications."""
    return [{"id": n.id, "kind": n.kind, "message": n.message, "created_at": n.created_at,
             "document_id": n.document.public_id if n.document else None, "read": n.read_at is not None}
            for n in selectors.notifications_for_user(request.user, limit=limit)]


@notifications.get("/notifications/unread-count", response={200: UnreadCount, **ERRORS},
                   url_name="notifications_unread")
def unread_count(request: HttpRequest):
    return {"unread": selectors.unread_notification_count(request.user)}


@notifications.post("/notifications/mark-read", response={200: MarkedRead, 413: Problem, **ERRORS},
                    url_name="notifications_mark_read")
def mark_read(request: HttpRequest, body: MarkRead):
    """Mark the given notifications (or all, without `ids`) as read."""
    return {"marked": services.notifications_mark_read(user=request.user, ids=body.ids)}
