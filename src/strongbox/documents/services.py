"""Document writes. Views, tasks and commands call these so each rule is enforced in one place."""

import hashlib
import logging
import secrets
import tempfile
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from strongbox.accounts import audit
from strongbox.accounts.models import AuditEvent
from strongbox.documents import cache, previews, tasks
from strongbox.documents.extract.runner import ExtractionFailed, run_document_extraction, time_limit
from strongbox.documents.models import Document, DocumentText, Notification, PreviewStatus, Tag, TextSource, TextStatus
from strongbox.documents.search import IndexEntry, get_backend
from strongbox.lib.filenames import clean_filename
from strongbox.lib.sniff import FileKind
from strongbox.ops import metrics

log = logging.getLogger(__name__)
BLOB_PREFIX = "documents"
CHUNK = 64 * 1024
QUOTA_WARNING_RATIO = 0.9


class QuotaExceeded(Exception):
    """The upload would take the owner past a quota; the message says which one."""


class TitleTaken(ValidationError):
    def __init__(self):
        super().__init__("You already have a document with this title.", code="title_taken")


class VersionConflict(Exception):
    """The document changed since the version the caller based its change on; nothing was written."""


class DocumentGone(VersionConflict):
    """The document was deleted since the caller read it; nothing was written."""


TITLE_CONSTRAINT = "documents_document_owner_title_ci"
TAG_CONSTRAINT = "documents_tag_owner_name_ci"
UNCHANGED = None


def _violates(error: IntegrityError, constraint: str) -> bool:
    """Return whether `error` is a violation of the unique constraint named `constraint`."""
    diag = getattr(error.__cause__, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return diag.constraint_name == constraint
    return str(error).endswith(f"index '{constraint}'")  # SQLite: "UNIQUE constraint failed: index '<name>'"


def _blob_name() -> str:
    token = secrets.token_hex(16)
    return f"{BLOB_PREFIX}/{token[:2]}/{token}"


def _sha256(upload: UploadedFile) -> str:
    """Return the upload's SHA-256: the one its upload handler computed as it arrived (uploads.py), else read it."""
    known = getattr(upload, "sha256", None)
    if known is not None:
        return known
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _tags_for(owner, names: list[str]) -> list[Tag]:
    """Return the owner's tags of these names, creating the missing ones."""
    existing = {tag.name.lower(): tag for tag in Tag.objects.filter(owner=owner)}
    tags = []
    for name in names:
        tag = existing.get(name.lower())
        if tag is None:
            tag = _tag_create(owner, name)
        tags.append(tag)
    return tags


def _tag_create(owner, name: str) -> Tag:
    """Create a tag, or return the one a concurrent request created with the same name since we looked."""
    try:
        with transaction.atomic():  # a savepoint: losing the race must not spoil the caller's transaction
            return Tag.objects.create(owner=owner, name=name)
    except IntegrityError as error:
        if not _violates(error, TAG_CONSTRAINT):
            raise
    return Tag.objects.get(owner=owner, name__iexact=name)


def _check_quota(owner, size: int) -> None:
    """Refuse an upload past a quota; warn the owner once when it takes them past QUOTA_WARNING_RATIO."""
    usage = Document.objects.filter(owner=owner).aggregate(count=Count("id"), total=Sum("size"))
    count, total = usage["count"], usage["total"] or 0
    if count + 1 > settings.QUOTA_DOCUMENTS:
        raise QuotaExceeded(f"You have reached your limit of {settings.QUOTA_DOCUMENTS} documents. "
                            "Delete some to upload more.")
    if total + size > settings.QUOTA_BYTES:
        free_mb = max(0, settings.QUOTA_BYTES - total) / 1024**2
        raise QuotaExceeded(f"This file does not fit in your storage quota: {free_mb:.1f} MB left of "
                            f"{settings.QUOTA_BYTES / 1024**2:.0f} MB.")
    before = max(count / settings.QUOTA_DOCUMENTS, total / settings.QUOTA_BYTES)
    after = max((count + 1) / settings.QUOTA_DOCUMENTS, (total + size) / settings.QUOTA_BYTES)
    if before < QUOTA_WARNING_RATIO <= after:
        Notification.objects.create(user=owner, kind=Notification.Kind.QUOTA_WARNING,
                                    message=f"Your storage is {after:.0%} full. Delete documents you no longer "
                                            "need to keep uploading.")


def document_create(*, owner, title: str, description: str, category: str, tags: list[str],
                    upload: UploadedFile, kind: FileKind) -> Document:
    """Store an upload that passed validation and create its document; on any failure leave neither a file
    nor a row behind. Text extraction is queued once the row is committed."""
    sha256 = _sha256(upload)
    name = default_storage.save(_blob_name(), upload)
    try:
        with transaction.atomic():
            # Serialize an owner's uploads so two concurrent ones cannot both slip under the quota.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            _check_quota(owner, upload.size)
            document = Document.objects.create(
                owner=owner, title=title, description=description, category=category, file=name,
                original_filename=clean_filename(upload.name, fallback_extension=kind.extension),
                extension=kind.extension, content_type=kind.content_type, size=upload.size, sha256=sha256,
                preview_status=PreviewStatus.PENDING,
            )
            document.tags.set(_tags_for(owner, tags))
            document_index(document)
            cache.bump(owner.pk)
            # A durable job, in this transaction; the owner's group, so their uploads cannot take every worker.
            tasks.extract_document_text(document_id=document.pk, group=tasks.extraction_group(owner.pk))
            tasks.render_document_previews(document_id=document.pk, group=tasks.extraction_group(owner.pk))
    except IntegrityError as error:
        default_storage.delete(name)
        if _violates(error, TITLE_CONSTRAINT):
            raise TitleTaken() from None
        raise
    except QuotaExceeded:
        default_storage.delete(name)
        metrics.UPLOADS.labels("refused").inc()
        raise
    except BaseException:
        default_storage.delete(name)
        raise
    metrics.UPLOADS.labels("stored").inc()
    metrics.UPLOAD_BYTES.inc(upload.size)
    return document


def _conflict(document: Document) -> VersionConflict:
    """Say why a write guarded by the document's id (and version) matched no row."""
    return VersionConflict() if Document.objects.filter(pk=document.pk).exists() else DocumentGone()


def document_update(*, document: Document, title: str | None = UNCHANGED, description: str | None = UNCHANGED,
                    category: str | None = UNCHANGED, tags: list[str] | None = UNCHANGED,
                    if_version: int | None = None) -> Document:
    """Change the given fields of a document (the others keep their stored values, whatever the caller read)
    and its index entry together, bumping its version; `document` is refreshed to the stored row.

    With `if_version`, write only if the stored version still is that one (VersionConflict otherwise), so two
    clients editing the same document cannot silently overwrite each other. DocumentGone (a VersionConflict) if
    it was deleted meanwhile; TitleTaken if another of the owner's documents has the title.
    """
    fields = {name: value for name, value in
              (("title", title), ("description", description), ("category", category)) if value is not UNCHANGED}
    rows = Document.objects.filter(pk=document.pk)
    if if_version is not None:
        rows = rows.filter(version=if_version)
    try:
        with transaction.atomic():
            if not rows.update(**fields, version=F("version") + 1, updated_at=timezone.now()):
                raise _conflict(document)
            document.refresh_from_db(fields=["title", "description", "category", "version", "updated_at"])
            if tags is not UNCHANGED:
                document.tags.set(_tags_for(document.owner, tags))
            document_index(document)
            cache.bump(document.owner_id)
    except IntegrityError as error:
        if _violates(error, TITLE_CONSTRAINT):
            raise TitleTaken() from None
        raise
    return document


def document_delete(*, document: Document, actor=None, if_version: int | None = None) -> None:
    """Delete a document: its text, tags, notifications and index entry now, its file once that has committed;
    the row stays as a tombstone until tombstones_purge. The audit log records it once, as done by `actor` (the
    user who asked; None: the system).

    DocumentGone if it was deleted meanwhile; VersionConflict if `if_version` is given and no longer current.
    """
    name = document.file.name
    preview = (document.preview_key, document.preview_pages)
    now = timezone.now()
    with transaction.atomic():
        rows = Document.objects.filter(pk=document.pk)
        if if_version is not None:
            rows = rows.filter(version=if_version)
        if not rows.update(deleted_at=now, updated_at=now, version=F("version") + 1):
            raise _conflict(document)
        get_backend().remove(document.pk)
        DocumentText.objects.filter(document_id=document.pk).delete()
        Notification.objects.filter(document_id=document.pk).delete()
        document.tags.clear()
        detail = f"{document.public_id} “{document.title}”"
        if actor is None or actor.pk != document.owner_id:
            detail += f" of {document.owner.get_username()}"
        audit.record(AuditEvent.Kind.DOCUMENT_DELETED, user=actor, detail=detail)
        cache.bump(document.owner_id)
        transaction.on_commit(lambda: default_storage.delete(name))
        transaction.on_commit(lambda: previews.previews_delete(name, *preview))


def tombstones_purge(*, older_than: timedelta | None = None) -> int:
    """Remove the rows of documents deleted more than `older_than` (TOMBSTONE_DAYS) ago; return how many."""
    cutoff = timezone.now() - (older_than or timedelta(days=settings.TOMBSTONE_DAYS))
    _, per_model = Document.with_tombstones.filter(deleted_at__lt=cutoff).delete()
    return per_model.get(Document._meta.label, 0)


def document_index(document: Document) -> None:
    """Write the document's current title, description, tags and extracted text to the search index."""
    body = DocumentText.objects.filter(document=document).values_list("body", flat=True).first() or ""
    get_backend().index(IndexEntry(
        document_id=document.pk, owner_id=document.owner_id, title=document.title,
        description=document.description, tags=" ".join(tag.name for tag in document.tags.all()), body=body,
    ))


def document_extract_text(*, document_id: int) -> None:
    """Extract the file's text in a bounded child process, store it and index it. Safe to run twice, also at
    the same time; a damaged file marks the document as unreadable instead of raising.

    The child may take EXTRACT_MIN_SECONDS plus EXTRACT_SECONDS_PER_MB for each MB of the file (at most
    EXTRACT_TIMEOUT) and read EXTRACT_MAX_PAGES pages of a PDF; then, when OCR is on (previews.ocr_options), it
    recognises the text of an image or of PDF pages without a text layer within OCR_TIMEOUT."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return
    with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=f".{document.extension}") as copy:
        with default_storage.open(document.file.name, "rb") as stored:
            for chunk in iter(lambda: stored.read(CHUNK), b""):
                copy.write(chunk)
        copy.flush()
        try:
            result = run_document_extraction(
                copy.name, document.extension, timeout=_extraction_time_limit(document.size),
                memory_bytes=settings.EXTRACT_MEMORY, max_pages=settings.EXTRACT_MAX_PAGES,
                ocr=previews.ocr_options())
            body, source, status, error = result["text"], result["source"], TextStatus.READY, ""
            if result.get("ocr_error"):
                log.info("OCR failed for document %s: %s", document.pk, result["ocr_error"])
        except ExtractionFailed as failure:
            log.info("text extraction failed for document %s: %s", document.pk, failure)
            body, source, status, error = "", TextSource.NONE, TextStatus.FAILED, str(failure)[:200]
    metrics.EXTRACTIONS.labels("failed" if error else "text" if body.strip() else "empty").inc()
    _text_store(document_id, body, status, error, source)


def _extraction_time_limit(size: int) -> float:
    # A hostile file of a few KB can ask for minutes of parsing; an honest one needs time in proportion to its size.
    return time_limit(size, minimum=settings.EXTRACT_MIN_SECONDS, per_mb=settings.EXTRACT_SECONDS_PER_MB,
                      maximum=settings.EXTRACT_TIMEOUT)


def _text_store(document_id: int, body: str, status: str, error: str, source: str = TextSource.NONE) -> None:
    """Store an extraction's result on the document as it is now, not as it was when extraction began.

    Extraction takes up to EXTRACT_TIMEOUT, during which the owner may rename or delete the document, or another
    run may finish first: so lock the row, re-read it, and index what it holds now. The version changes with the
    text status, so clients revalidating an ETag see the result; only the run that ends the wait tells the owner.
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            return  # Deleted while we were reading it.
        stored = DocumentText.objects.filter(document=document).values_list("body", flat=True).first()
        if (document.text_status, document.text_error, document.text_source, stored) == (status, error, source, body):
            return  # an earlier run stored the same result
        was_pending = document.text_status == TextStatus.PENDING
        DocumentText.objects.update_or_create(document=document, defaults={"body": body})
        Document.objects.filter(pk=document.pk).update(text_status=status, text_error=error, text_source=source,
                                                       version=F("version") + 1)
        document.refresh_from_db(fields=["text_status", "text_error", "version"])
        document_index(document)
        cache.bump(document.owner_id)
        if was_pending:
            _notify_text_result(document, status, error)


def document_extraction_abandon(*, document_id: int, error: str) -> bool:
    """Give up extracting the document's text after the last failed attempt: mark it unreadable with `error` and
    tell the owner, once. Its index entry stays as it is (title, description and tags are still searchable).
    Return whether it was still waiting for its text (if not, nothing changes)."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.text_status != TextStatus.PENDING:
            return False
        error = error[:200]
        Document.objects.filter(pk=document.pk).update(text_status=TextStatus.FAILED, text_error=error,
                                                       version=F("version") + 1)
        cache.bump(document.owner_id)
        _notify_text_result(document, TextStatus.FAILED, error)
    metrics.EXTRACTIONS.labels("abandoned").inc()
    return True


def _notify_text_result(document: Document, status: str, error: str) -> None:
    if status == TextStatus.READY:
        kind, message = Notification.Kind.TEXT_READY, f"“{document.title}” is indexed and can be searched."
    else:
        kind, message = Notification.Kind.TEXT_FAILED, f"The text of “{document.title}” could not be read: {error}"
    Notification.objects.create(user_id=document.owner_id, kind=kind, message=message[:300], document=document)


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications (all, or those with the given ids) read; return how many."""
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    marked = unread.update(read_at=timezone.now())
    if marked:
        cache.bump(user.pk)  # the unread count is cached with the documents it is about (selectors.py)
    return marked


def orphan_files_remove(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete stored files no document refers to (left by a crash between storing and committing).

    Only files older than `older_than` are touched, so an upload in progress is never removed. Return the count.
    """
    cutoff = timezone.now() - older_than
    removed = 0
    try:
        directories, _ = default_storage.listdir(BLOB_PREFIX)
    except FileNotFoundError:  # a local store before its first upload (object stores have no directories)
        directories = []
    for directory in directories:
        folder = f"{BLOB_PREFIX}/{directory}"
        names = [f"{folder}/{name}" for name in default_storage.listdir(folder)[1]]
        known = set(Document.objects.filter(file__in=names).values_list("file", flat=True))
        for name in names:
            if name not in known and default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
                removed += 1
    return removed
