"""Document writes. Views, tasks and commands call these so each rule is enforced in one place."""

import hashlib
import logging
import secrets
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
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
from strongbox.documents import cache, notification_groups, previews, tasks
from strongbox.documents.extract.runner import ExtractionFailed, run_document_extraction, time_limit
from strongbox.documents.models import (
    Document,
    DocumentText,
    DocumentVersion,
    Note,
    Notification,
    PreviewStatus,
    Tag,
    TextSource,
    TextStatus,
)
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


def _old_versions_bytes(owner) -> int:
    """Return the bytes of the owner's stored old versions (each file once) of documents not in the trash."""
    old = (DocumentVersion.objects.filter(document__owner=owner, document__deleted_at__isnull=True,
                                          document__trashed_at__isnull=True)
           .exclude(file=F("document__file")).values("file", "size").distinct())
    return old.aggregate(total=Sum("size"))["total"] or 0


def _check_quota(owner, size: int, *, documents: int = 1) -> None:
    """Refuse an upload past a quota; warn the owner once when it takes them past QUOTA_WARNING_RATIO.

    Documents in the trash do not count (Document.objects leaves them out); old versions count with their bytes.
    `documents` is how many documents the upload adds (0 for a new version of one)."""
    usage = Document.objects.filter(owner=owner).aggregate(count=Count("id"), total=Sum("size"))
    count, total = usage["count"] + documents - 1, (usage["total"] or 0) + _old_versions_bytes(owner)
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


TITLE_ATTEMPTS = 20


def _insert_titled(title: "str | Callable[[], str]", **fields) -> Document:
    """Insert the document row. A callable `title` is asked for a title once the owner's uploads are serialized
    (document_create), and asked again when the insert still meets a title taken meanwhile (by a rename): each
    try in a savepoint, so only that insert is undone (intake.document_create_named, "Invoice (2)")."""
    if not callable(title):
        return Document.objects.create(title=title, **fields)
    for _ in range(TITLE_ATTEMPTS - 1):
        chosen = title()
        try:
            with transaction.atomic():
                return Document.objects.create(title=chosen, **fields)
        except IntegrityError as error:
            if not _violates(error, TITLE_CONSTRAINT):
                raise
    return Document.objects.create(title=title(), **fields)  # the last try: TitleTaken if it fails too


def document_create(*, owner, title: "str | Callable[[], str]", description: str, category: str,
                    tags: list[str], upload: UploadedFile, kind: FileKind) -> Document:
    """Store an upload that passed validation and create its document; on any failure leave neither a file
    nor a row behind. Text extraction is queued once the row is committed. `title` may be a function choosing
    a free title (see _insert_titled)."""
    sha256 = _sha256(upload)
    try:
        with _stored(upload) as name, transaction.atomic():
            # Serialize an owner's uploads so two concurrent ones cannot both slip under the quota.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            _check_quota(owner, upload.size)
            document = _insert_titled(
                title, owner=owner, description=description, category=category, file=name,
                original_filename=clean_filename(upload.name, fallback_extension=kind.extension),
                extension=kind.extension, content_type=kind.content_type, size=upload.size, sha256=sha256,
                preview_status=PreviewStatus.PENDING,
            )
            document.tags.set(_tags_for(owner, tags))
            _version_record(document, number=1, uploaded_by=owner)
            document_index(document)
            cache.bump(owner.pk)
            # A durable job, in this transaction; the owner's group, so their uploads cannot take every worker.
            tasks.extract_document_text(document_id=document.pk, group=tasks.extraction_group(owner.pk))
            tasks.render_document_previews(document_id=document.pk, group=tasks.extraction_group(owner.pk))
    except IntegrityError as error:
        if _violates(error, TITLE_CONSTRAINT):
            raise TitleTaken() from None
        raise
    return document


@contextmanager
def _stored(upload: UploadedFile):
    """Store the upload under a new name for the block, which records it (a document or a version): if the block
    fails, delete the file again, so no failure leaves one behind. Count the upload as stored or refused."""
    name = default_storage.save(_blob_name(), upload)
    try:
        yield name
    except BaseException as error:
        default_storage.delete(name)
        if isinstance(error, QuotaExceeded):
            metrics.UPLOADS.labels("refused").inc()
        raise
    metrics.UPLOADS.labels("stored").inc()
    metrics.UPLOAD_BYTES.inc(upload.size)


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
            cache.bump_document(document)
    except IntegrityError as error:
        if _violates(error, TITLE_CONSTRAINT):
            raise TitleTaken() from None
        raise
    return document


def document_purge(*, document: Document, actor=None, if_version: int | None = None) -> None:
    """Delete a document for good, whether in the trash or not: its text, tags, notifications, versions and index
    entry now, its files (every version's) once that has committed; the row stays as a tombstone until
    tombstones_purge. The audit log records it once, as done by `actor` (the user who asked; None: the system).

    DocumentGone if it was deleted meanwhile; VersionConflict if `if_version` is given and no longer current.
    """
    preview = (document.file.name, document.preview_key, document.preview_pages)
    now = timezone.now()
    with transaction.atomic():
        rows = Document.with_tombstones.filter(pk=document.pk, deleted_at__isnull=True)
        if if_version is not None:
            rows = rows.filter(version=if_version)
        if not rows.update(deleted_at=now, updated_at=now, version=F("version") + 1):
            raise _conflict(document)
        # Read after the update, which locks the row: a version uploaded meanwhile is among these.
        versions = DocumentVersion.objects.filter(document_id=document.pk)
        names = {document.file.name, *Document.with_tombstones.filter(pk=document.pk).values_list("file", flat=True),
                 *versions.values_list("file", flat=True)}
        versions.delete()
        get_backend().remove(document.pk)
        DocumentText.objects.filter(document_id=document.pk).delete()
        Notification.objects.filter(document_id=document.pk).delete()
        document.tags.clear()
        detail = f"{document.public_id} “{document.title}”"
        if actor is None or actor.pk != document.owner_id:
            detail += f" of {document.owner.get_username()}"
        audit.record(AuditEvent.Kind.DOCUMENT_DELETED, user=actor, detail=detail)
        cache.bump_document(document)
        transaction.on_commit(lambda: _files_delete(names))
        transaction.on_commit(lambda: previews.previews_delete(*preview))


def _files_delete(names) -> None:
    for name in sorted(names):
        default_storage.delete(name)


# The delete that leaves a tombstone, under its former name (tests and commands of the tombstone rules use it).
document_delete = document_purge


def tombstones_purge(*, older_than: timedelta | None = None) -> int:
    """Remove the rows of documents deleted more than `older_than` (TOMBSTONE_DAYS) ago; return how many."""
    cutoff = timezone.now() - (older_than or timedelta(days=settings.TOMBSTONE_DAYS))
    _, per_model = Document.with_tombstones.filter(deleted_at__lt=cutoff).delete()
    return per_model.get(Document._meta.label, 0)


def index_entries(document_ids: list[int]) -> list[IndexEntry]:
    """Return the search index entries of these documents as stored now: title, description, tags, extracted
    text, notes and the users they are shared with; five queries however many there are."""
    from strongbox.sharing.models import Share  # sharing's models build on this app's

    bodies = dict(DocumentText.objects.filter(document_id__in=document_ids).values_list("document_id", "body"))
    notes: dict[int, list[str]] = {}
    for document_id, body in (Note.objects.filter(document_id__in=document_ids)
                              .order_by("document_id", "created_at", "id").values_list("document_id", "body")):
        notes.setdefault(document_id, []).append(body)
    readers: dict[int, list[int]] = {}
    for document_id, user_id in Share.objects.filter(document_id__in=document_ids).values_list("document_id",
                                                                                              "user_id"):
        readers.setdefault(document_id, []).append(user_id)
    documents = Document.with_tombstones.filter(id__in=document_ids).prefetch_related("tags")
    return [IndexEntry(
        document_id=document.pk, owner_id=document.owner_id, title=document.title,
        description=document.description, tags=" ".join(tag.name for tag in document.tags.all()),
        # Notes are searched as part of the body (documents/notes.py), so the backends' schema stays as it is.
        body="\n".join(part for part in (bodies.get(document.pk, ""), *notes.get(document.pk, ())) if part),
        reader_ids=tuple(readers.get(document.pk, ())),
    ) for document in documents]


def document_index(document: Document) -> None:
    """Write the document's current title, description, tags, extracted text and notes to the search index."""
    get_backend().index_many(index_entries([document.pk]))


def document_extract_text(*, document_id: int) -> None:
    """Extract the file's text in a bounded child process, store it and index it. Safe to run twice, also at
    the same time; a damaged file marks the document as unreadable instead of raising.

    The child may take EXTRACT_MIN_SECONDS plus EXTRACT_SECONDS_PER_MB for each MB of the file (at most
    EXTRACT_TIMEOUT) and read EXTRACT_MAX_PAGES pages of a PDF; then, when OCR is on (previews.ocr_options), it
    recognises the text of an image or of PDF pages without a text layer within OCR_TIMEOUT."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return
    file_name = document.file.name  # the file this run reads: a new version may replace it meanwhile
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
    _text_store(document_id, body, status, error, source, file_name=file_name)


def _extraction_time_limit(size: int) -> float:
    # A hostile file of a few KB can ask for minutes of parsing; an honest one needs time in proportion to its size.
    return time_limit(size, minimum=settings.EXTRACT_MIN_SECONDS, per_mb=settings.EXTRACT_SECONDS_PER_MB,
                      maximum=settings.EXTRACT_TIMEOUT)


def _text_store(document_id: int, body: str, status: str, error: str, source: str = TextSource.NONE, *,
                file_name: str | None = None) -> None:
    """Store an extraction's result on the document as it is now, not as it was when extraction began.

    Extraction takes up to EXTRACT_TIMEOUT, during which the owner may rename or delete the document, or another
    run may finish first: so lock the row, re-read it, and index what it holds now. A result for a file that is no
    longer the current one (`file_name`: a new version was uploaded since) is dropped: the new version's own
    extraction, queued with it, stores its text. The version changes with the
    text status, so clients revalidating an ETag see the result; only the run that ends the wait tells the owner.
    """
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            return  # Deleted (or moved to the trash) while we were reading it.
        if file_name is not None and document.file.name != file_name:
            return  # An outdated file's text: the current version's extraction is queued.
        stored = DocumentText.objects.filter(document=document).values_list("body", flat=True).first()
        if (document.text_status, document.text_error, document.text_source, stored) == (status, error, source, body):
            return  # an earlier run stored the same result
        was_pending = document.text_status == TextStatus.PENDING
        DocumentText.objects.update_or_create(document=document, defaults={"body": body})
        Document.objects.filter(pk=document.pk).update(text_status=status, text_error=error, text_source=source,
                                                       version=F("version") + 1)
        document.refresh_from_db(fields=["text_status", "text_error", "version"])
        document_index(document)
        cache.bump_document(document)
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
        cache.bump_document(document)
        _notify_text_result(document, TextStatus.FAILED, error)
    metrics.EXTRACTIONS.labels("abandoned").inc()
    return True


def _notify_text_result(document: Document, status: str, error: str) -> None:
    if status == TextStatus.READY:
        kind, message = Notification.Kind.TEXT_READY, f"“{document.title}” is indexed and can be searched."
    else:
        kind, message = Notification.Kind.TEXT_FAILED, f"The text of “{document.title}” could not be read: {error}"
    notification_groups.text_result_notify(document=document, kind=kind, message=message[:300])


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
        # Documents in the trash and old versions still own their files.
        known = {*Document.with_tombstones.filter(file__in=names).values_list("file", flat=True),
                 *DocumentVersion.objects.filter(file__in=names).values_list("file", flat=True)}
        for name in names:
            if name not in known and default_storage.get_modified_time(name) < cutoff:
                default_storage.delete(name)
                removed += 1
    return removed


# Trash and versions (docs/trash-and-versions.md) ----------------------------------------------------------------

RESTORED_SUFFIX = " (restored)"


def trash_purge_date(trashed_at):
    """Return when a document moved to the trash at `trashed_at` is deleted for good by the periodic job."""
    return trashed_at + timedelta(days=settings.TRASH_DAYS)


def _document_detail(document: Document, actor) -> str:
    detail = f"{document.public_id} “{document.title}”"
    if actor is None or actor.pk != document.owner_id:
        detail += f" of {document.owner.get_username()}"
    return detail


def document_trash(*, document: Document, actor=None, if_version: int | None = None) -> None:
    """Move a document to the trash: it leaves every list, search, count and the quota at once (the default
    manager leaves it out, its index entry is removed), and keeps its files, text and tags for TRASH_DAYS, when
    trash_purge_expired deletes it for good. Audited as done by `actor`.

    DocumentGone if it was trashed or deleted meanwhile; VersionConflict if `if_version` is no longer current.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = Document.objects.filter(pk=document.pk)
        if if_version is not None:
            rows = rows.filter(version=if_version)
        if not rows.update(trashed_at=now, updated_at=now, version=F("version") + 1):
            raise _conflict(document)
        get_backend().remove(document.pk)
        audit.record(AuditEvent.Kind.DOCUMENT_TRASHED, user=actor, detail=_document_detail(document, actor))
        cache.bump_document(document)
    document.trashed_at = now


def _free_title(owner_id: int, title: str, pk: int) -> str:
    """Return `title` if none of the owner's documents (outside the trash) has it, else the first free one of
    "Title (restored)", "Title (restored 2)", …, shortened to fit the title's 100 characters."""
    live = Document.objects.filter(owner_id=owner_id).exclude(pk=pk)
    suffixes = ("", RESTORED_SUFFIX, *(f" (restored {n})" for n in range(2, 100)))
    for suffix in suffixes:
        candidate = title[:100 - len(suffix)] + suffix
        if not live.filter(title__iexact=candidate).exists():
            return candidate
    raise TitleTaken()


def document_restore(*, document: Document, actor=None) -> Document:
    """Take a document out of the trash, back into lists and search (and the quota). If another document has
    taken its title meanwhile it comes back as "Title (restored)"; the returned document has its title as
    restored. Its text is indexed again (extraction re-queued if it never finished).

    DocumentGone if it is not in the trash (restored or deleted meanwhile); QuotaExceeded if it no longer fits.
    """
    try:
        with transaction.atomic():
            # Serialized with the owner's uploads, which check the same quota.
            get_user_model().objects.select_for_update().filter(pk=document.owner_id).first()
            current = Document.in_trash.select_for_update().filter(pk=document.pk).first()
            if current is None:
                raise DocumentGone()
            _check_quota(current.owner, current.size + _versions_bytes(current))
            title = _free_title(current.owner_id, current.title, current.pk)
            Document.in_trash.filter(pk=current.pk).update(trashed_at=None, title=title, updated_at=timezone.now(),
                                                           version=F("version") + 1)
            document.refresh_from_db()
            document_index(document)
            if document.text_status == TextStatus.PENDING:
                tasks.extract_document_text(document_id=document.pk, group=tasks.extraction_group(document.owner_id))
            if document.preview_status == PreviewStatus.PENDING:  # its rendering skipped it while in the trash
                tasks.render_document_previews(document_id=document.pk,
                                               group=tasks.extraction_group(document.owner_id))
            audit.record(AuditEvent.Kind.DOCUMENT_RESTORED, user=actor, detail=_document_detail(document, actor))
            cache.bump_document(document)
    except IntegrityError as error:  # a concurrent upload took the free title
        if _violates(error, TITLE_CONSTRAINT):
            raise TitleTaken() from None
        raise
    return document


def _versions_bytes(document: Document) -> int:
    """The bytes of a document's old versions (each file once, the current one left out)."""
    old = (DocumentVersion.objects.filter(document_id=document.pk).exclude(file=document.file.name)
           .values("file", "size").distinct())
    return old.aggregate(total=Sum("size"))["total"] or 0


def trash_empty(*, owner, actor=None) -> int:
    """Delete every document in the owner's trash for good; return how many."""
    purged = 0
    for document in Document.in_trash.filter(owner_id=owner.pk).select_related("owner"):
        try:
            document_purge(document=document, actor=actor)
        except DocumentGone:
            continue  # purged or restored meanwhile
        purged += 1
    return purged


def trash_purge_expired(*, older_than: timedelta | None = None) -> int:
    """Delete for good the documents in the trash for longer than `older_than` (TRASH_DAYS); return how many.
    Done by the system (the audit log names no user)."""
    cutoff = timezone.now() - (older_than or timedelta(days=settings.TRASH_DAYS))
    purged = 0
    for document in Document.in_trash.filter(trashed_at__lt=cutoff).select_related("owner"):
        try:
            document_purge(document=document, actor=None)
        except DocumentGone:
            continue
        purged += 1
    return purged


def _version_record(document: Document, *, number: int, uploaded_by, restored_from: int | None = None,
                    created_at=None) -> DocumentVersion:
    """Record the document's current file as its version `number`."""
    return DocumentVersion.objects.create(
        document=document, number=number, file=document.file.name, original_filename=document.original_filename,
        extension=document.extension, content_type=document.content_type, size=document.size,
        sha256=document.sha256, created_at=created_at or timezone.now(), uploaded_by=uploaded_by,
        restored_from=restored_from)


def _next_version_number(document: Document) -> int:
    """Return the number the document's next version gets, first recording its current file as version 1 if it
    has no versions yet (a document created without one, e.g. by a fixture)."""
    last = DocumentVersion.objects.filter(document_id=document.pk).order_by("-number").values_list(
        "number", flat=True).first()
    if last is None:
        _version_record(document, number=1, uploaded_by=None, created_at=document.created_at)
        last = 1
    return last + 1


FILE_FIELDS = ("file", "original_filename", "extension", "content_type", "size", "sha256")


def _file_replace(document: Document, source, *, number: int, actor, restored_from: int | None = None) -> None:
    """Make `source`'s file (an upload's stored fields or an old version) the document's current one, as version
    `number`: the row describes it, the old text is dropped, extraction re-queued. Inside the caller's
    transaction, with the document's row locked."""
    values = {field: getattr(source, field) for field in FILE_FIELDS}
    values["file"] = getattr(values["file"], "name", values["file"])
    previous_file = document.file.name
    Document.objects.filter(pk=document.pk).update(**values, text_status=TextStatus.PENDING, text_error="",
                                                   updated_at=timezone.now(), version=F("version") + 1)
    document.refresh_from_db()
    _version_record(document, number=number, uploaded_by=actor, restored_from=restored_from)
    DocumentText.objects.filter(document_id=document.pk).delete()
    document_index(document)  # title, description and tags stay searchable while the new text is read
    cache.bump_document(document)
    _file_replaced(document, previous_file)


def _file_replaced(document: Document, previous_file: str) -> None:
    """Queue the work a new current file needs, once the change commits: its text and its previews (the images of
    the previous file's go)."""
    tasks.extract_document_text(document_id=document.pk, group=tasks.extraction_group(document.owner_id))
    previews.document_previews_queue(document, previous_file=previous_file)


class _StoredUpload:
    """An upload's fields as they are stored, for _file_replace."""

    def __init__(self, name: str, upload: UploadedFile, kind: FileKind, sha256: str):
        self.file, self.size, self.sha256 = name, upload.size, sha256
        self.original_filename = clean_filename(upload.name, fallback_extension=kind.extension)
        self.extension, self.content_type = kind.extension, kind.content_type


def document_version_create(*, document: Document, upload: UploadedFile, kind: FileKind, actor) -> DocumentVersion:
    """Store an upload that passed the upload checks as the document's new current version; the old one stays
    downloadable and restorable. Its bytes count against the quota. On any failure leave neither a file nor a
    row behind. DocumentGone if the document was deleted or trashed meanwhile; QuotaExceeded."""
    sha256 = _sha256(upload)
    with _stored(upload) as name, transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=document.owner_id).first()
        if Document.objects.select_for_update().filter(pk=document.pk).first() is None:
            raise DocumentGone()
        document.refresh_from_db()
        _check_quota(document.owner, upload.size, documents=0)
        number = _next_version_number(document)
        _file_replace(document, _StoredUpload(name, upload, kind, sha256), number=number, actor=actor)
    return DocumentVersion.objects.get(document=document, number=number)


def document_version_restore(*, document: Document, number: int, actor) -> DocumentVersion:
    """Make old version `number` current again, as a new version referring to the same stored file (nothing is
    copied, the history is kept). DocumentVersion.DoesNotExist if it has no such version; DocumentGone."""
    with transaction.atomic():
        if Document.objects.select_for_update().filter(pk=document.pk).first() is None:
            raise DocumentGone()
        document.refresh_from_db()
        old = DocumentVersion.objects.get(document_id=document.pk, number=number)
        next_number = _next_version_number(document)
        if number == next_number - 1:
            return old  # already the current version
        _file_replace(document, old, number=next_number, actor=actor, restored_from=number)
    return DocumentVersion.objects.get(document=document, number=next_number)
