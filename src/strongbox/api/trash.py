"""The trash and a document's versions: thin callers of the same services as the web pages
(docs/trash-and-versions.md)."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Status

from strongbox.api.documents import ERRORS, document_out, etag, json_response, require_permission
from strongbox.api.errors import ApiError
from strongbox.api.schemas import DocumentOut, Problem, Purged, TrashPage, VersionOut
from strongbox.documents import selectors, services
from strongbox.documents.downloads import document_file_response
from strongbox.documents.forms import VersionForm
from strongbox.documents.models import Document, DocumentVersion
from strongbox.sharing.selectors import require_owner

router = Router(tags=["trash"])
versions = Router(tags=["versions"])
FILE_BODY = {"description": "The version's bytes, with its stored Content-Type.",
             "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
VERSION_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "additionalProperties": False,
        "properties": {"file": {"type": "string", "format": "binary"}},
    }}},
}


def _trashed_out(document: Document) -> dict:
    return {**document_out(document), "trashed_at": document.trashed_at,
            "purge_at": services.trash_purge_date(document.trashed_at)}


@router.get("/trash", response={200: TrashPage, **ERRORS}, url_name="trash")
def list_trash(request: HttpRequest, page: int = Query(1, ge=1, le=100_000),
               page_size: int = Query(50, ge=1, le=settings.API_MAX_PAGE_SIZE)):
    """The documents in your trash, most recently trashed first, with when each is deleted for good."""
    documents = (Document.in_trash.filter(owner_id=request.user.pk).order_by("-trashed_at", "-id")
                 .prefetch_related("tags"))
    paginator = Paginator(documents, page_size)
    results = list(paginator.page(page).object_list) if page <= paginator.num_pages else []
    return json_response({"count": paginator.count, "page": page, "pages": paginator.num_pages,
                          "page_size": page_size, "results": [_trashed_out(d) for d in results]})


@router.delete("/trash", response={200: Purged, **ERRORS}, url_name="trash_empty")
def empty_trash(request: HttpRequest):
    """Delete every document in your trash for good."""
    return {"purged": services.trash_empty(owner=request.user, actor=request.user)}


@router.post("/trash/{document_id}/restore", response={200: DocumentOut, 409: Problem, 413: Problem, **ERRORS},
             url_name="trash_restore")
def restore(request: HttpRequest, response: HttpResponse, document_id: str):
    """Take a document out of the trash. If another document has its title meanwhile, it comes back as
    "Title (restored)" (the answer has the title it got)."""
    document = selectors.trashed_document_for_user(request.user, document_id, request)
    try:
        services.document_restore(document=document, actor=request.user)
    except services.DocumentGone:
        raise ApiError(404, "not_found", "No such document in your trash.") from None
    except services.TitleTaken:
        raise ApiError(409, "title_taken", "No free title to restore the document under.") from None
    except services.QuotaExceeded as error:
        raise ApiError(413, "quota_exceeded", str(error)) from None
    response["ETag"] = etag(document)
    return Status(200, document_out(document))


@router.delete("/trash/{document_id}", response={204: None, **ERRORS}, url_name="trash_purge")
def purge(request: HttpRequest, document_id: str):
    """Delete one document of your trash for good, with all its versions."""
    document = selectors.trashed_document_for_user(request.user, document_id, request)
    try:
        services.document_purge(document=document, actor=request.user)
    except services.DocumentGone:
        raise ApiError(404, "not_found", "No such document in your trash.") from None
    return Status(204, None)


def _version_url(public_id: str, number: int) -> str:
    return reverse("api:version_content", args=[public_id, number])


def _version_out(document: Document, version: DocumentVersion, current: int) -> dict:
    return {"number": version.number, "current": version.number == current, "filename": version.original_filename,
            "content_type": version.content_type, "size": version.size, "sha256": version.sha256,
            "created_at": version.created_at,
            "uploaded_by": version.uploaded_by.get_username() if version.uploaded_by else None,
            "restored_from": version.restored_from, "content_url": _version_url(document.public_id, version.number)}


@versions.get("/documents/{document_id}/versions", response={200: list[VersionOut], **ERRORS},
              url_name="versions")
def list_versions(request: HttpRequest, document_id: str):
    """The document's versions, newest (current) first."""
    document = selectors.document_for_user(request.user, document_id, request)
    found = selectors.versions_for_document(document.pk)
    current = found[0].number if found else 0
    return [_version_out(document, version, current) for version in found]


@versions.post("/documents/{document_id}/versions",
               response={201: VersionOut, 409: Problem, 413: Problem, 415: Problem, **ERRORS},
               openapi_extra={"requestBody": VERSION_BODY}, url_name="version_create")
def create_version(request: HttpRequest, response: HttpResponse, document_id: str):
    """Upload a new version of the document (field `file`), checked as an upload is; it becomes the current
    file, and the old one stays downloadable and restorable. Its bytes count against your quota."""
    document = selectors.document_for_user(request.user, document_id, request)
    require_permission(require_owner, request, document)
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "Upload with Content-Type: multipart/form-data.")
    fields, files = request.POST, request.FILES  # parsing the body is what detects an oversized file
    if getattr(request, "upload_too_large", False):
        raise ApiError(413, "file_too_large", f"The file is larger than the {settings.MAX_UPLOAD_SIZE} byte limit.")
    unknown = sorted(fields) + sorted(set(files) - {"file"})
    if unknown:
        raise ApiError(400, "unknown_field", f"Not fields you can set: {', '.join(unknown)}.",
                       errors=[{"field": name, "message": "is read-only or unknown"} for name in unknown])
    form = VersionForm(fields, files)
    if not form.is_valid():
        errors = [{"field": field, "message": str(message)} for field, messages in form.errors.items()
                  for message in messages]
        raise ApiError(400, "invalid_request", "Some fields are missing or not valid.", errors=errors)
    try:
        version = services.document_version_create(document=document, upload=form.cleaned_data["file"],
                                                   kind=form.kind, actor=request.user)
    except services.DocumentGone:
        raise ApiError(409, "document_deleted", "The document was deleted while your request was being answered.") \
            from None
    except services.QuotaExceeded as error:
        raise ApiError(413, "quota_exceeded", str(error)) from None
    response["Location"] = _version_url(document.public_id, version.number)
    return Status(201, _version_out(document, version, version.number))


@versions.get("/documents/{document_id}/versions/{number}/content",
              response={200: None, 206: None, 304: None, 416: Problem, **ERRORS},
              openapi_extra={"responses": {200: FILE_BODY, 206: FILE_BODY}}, url_name="version_content")
def version_content(request: HttpRequest, document_id: str, number: int):
    """One version's file, exactly as uploaded. Honours Range, If-Range and If-None-Match."""
    _, version = selectors.version_for_user(request.user, document_id, number, request)
    return document_file_response(request, version)


@versions.post("/documents/{document_id}/versions/{number}/restore",
               response={201: VersionOut, 409: Problem, **ERRORS}, url_name="version_restore")
def restore_version(request: HttpRequest, response: HttpResponse, document_id: str, number: int):
    """Make an old version current again, as a new version (the history is kept)."""
    document, _ = selectors.version_for_user(request.user, document_id, number, request)
    require_permission(require_owner, request, document)
    try:
        version = services.document_version_restore(document=document, number=number, actor=request.user)
    except (services.DocumentGone, DocumentVersion.DoesNotExist):
        raise ApiError(409, "document_deleted", "The document was deleted while your request was being answered.") \
            from None
    response["Location"] = _version_url(document.public_id, version.number)
    return Status(201, _version_out(document, version, version.number))
