"""Previews of documents: rendering them (a durable job), storing them beside the file, serving them.

A rendering writes thumb.webp and p0001.webp… under `<blob name>.preview/<key>/` in the same storage as the file
(local directory or S3 bucket), `key` being new and random for each rendering; the document row then names the key
and the number of page images. So the files of a key never change (their ETag is the key and the page), two
renderings at once never overwrite each other's files, and a new version of the file (a new blob name) has previews
of its own. The files of a replaced key are deleted once the new one is committed.

Untrusted files are rendered by the extraction child (extract/render.py, extract/runner.py: memory, CPU and wall
clock limits, parent-death); a file it cannot render ends as PreviewStatus.FAILED ("no preview"), never an error
page.

For the code of other features:
- `document_previews_queue(document, previous_file=old_name)`: render a document's previews again, e.g. in the
  transaction where a new version replaced its file (the old images are deleted once that commits).
- `image_response(request, document, page)`: the image response for a Document, WITHOUT any access check (the
  caller has made it), e.g. for a public share link's page.
"""

import logging
import secrets
import shutil
import tempfile
from datetime import timedelta
from functools import cache as memoize
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.functions import Length, Substr
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control

from strongbox.documents import cache, tasks
from strongbox.documents.extract import OcrOptions
from strongbox.documents.extract.runner import ExtractionFailed, run_render, time_limit
from strongbox.documents.models import Document, DocumentText, PreviewStatus

log = logging.getLogger(__name__)
THUMBNAIL = 0
PAGES_PER_SCREEN = 10
TEXT_PREVIEW_CHARS = 200_000
TEXT_EXTENSIONS = frozenset({"txt", "md", "csv", "docx", "xlsx"})
IMAGE_CONTENT_TYPE = "image/webp"
# The image URLs carry the key (?v=), so a browser may keep an image for a while without asking again.
IMAGE_MAX_AGE = 3600
IMAGE_CSP = "default-src 'none'; sandbox"
CHUNK = 64 * 1024


def preview_name(blob_name: str, key: str, page: int) -> str:
    """The storage name of a preview image: page 0 is the thumbnail, 1… the page images."""
    return f"{blob_name}.preview/{key}/{'thumb' if page == THUMBNAIL else f'p{page:04}'}.webp"


def _names(blob_name: str, key: str, pages: int) -> list[str]:
    return [preview_name(blob_name, key, page) for page in range(pages + 1)]


def previews_delete(blob_name: str, key: str, pages: int) -> None:
    """Delete the stored images of one rendering (missing ones are fine)."""
    if not key:
        return
    for name in _names(blob_name, key, pages):
        default_storage.delete(name)


# --- rendering ------------------------------------------------------------------------------------------------

def document_previews_queue(document: Document, *, previous_file: str | None = None) -> None:
    """Render the document's previews again in the background; the list shows the placeholder meanwhile, and the
    images of the previous rendering are deleted once this commits.

    Call it inside the transaction that changed the document's file (a new version), naming the file it had
    before as `previous_file` (the old images are stored beside that one), or with no `previous_file` to render
    the same file again (e.g. for documents that never had previews)."""
    with transaction.atomic():
        row = (Document.objects.select_for_update().filter(pk=document.pk)
               .values("file", "preview_key", "preview_pages").first())
        if row is None:
            return
        Document.objects.filter(pk=document.pk).update(preview_status=PreviewStatus.PENDING, preview_key="",
                                                       preview_pages=0, preview_error="")
        if row["preview_key"]:
            old = (previous_file or row["file"], row["preview_key"], row["preview_pages"])
            transaction.on_commit(lambda: previews_delete(*old))
        tasks.render_document_previews(document_id=document.pk, group=tasks.extraction_group(document.owner_id))
        cache.bump_document(document)


def previews_queue_missing(*, limit: int = 200, everything: bool = False) -> int:
    """Queue the rendering of up to `limit` documents that never had previews (all documents with `everything`);
    return how many were queued."""
    documents = Document.objects.all() if everything else Document.objects.filter(preview_status=PreviewStatus.NONE)
    queued = 0
    for document in documents.order_by("pk").only("pk", "owner_id")[:limit]:
        document_previews_queue(document)
        queued += 1
    return queued


def _render_time_limit(size: int) -> float:
    return time_limit(size, minimum=max(settings.EXTRACT_MIN_SECONDS, 10), per_mb=settings.EXTRACT_SECONDS_PER_MB,
                      maximum=settings.PREVIEW_TIMEOUT)


def document_previews_render(*, document_id: int) -> None:
    """Render the document's previews in the limited child, store them and record them on the row. Safe to run
    twice, also at the same time (each run has its own key; the last to commit wins and the others' files go)."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return
    blob, key = document.file.name, secrets.token_hex(8)
    work = Path(tempfile.mkdtemp(dir=settings.FILE_UPLOAD_TEMP_DIR, prefix="preview-"))
    stored: list[str] = []
    try:
        copy = work / f"file.{document.extension}"
        with default_storage.open(blob, "rb") as source, copy.open("wb") as target:
            shutil.copyfileobj(source, target, CHUNK)
        out = work / "out"
        out.mkdir()
        try:
            result = run_render(str(copy), document.extension, str(out),
                                timeout=_render_time_limit(document.size), memory_bytes=settings.EXTRACT_MEMORY,
                                max_pages=min(settings.PREVIEW_MAX_PAGES, settings.EXTRACT_MAX_PAGES),
                                max_pixels=settings.PREVIEW_MAX_PIXELS)
        except (ExtractionFailed, ValueError) as failure:
            log.info("no preview for document %s: %s", document_id, failure)
            _record(document_id, blob, status=PreviewStatus.FAILED, error=str(failure)[:200])
            return
        pages = int(result["pages"])
        for page in range(pages + 1):
            name = preview_name(blob, key, page)
            with (out / Path(name).name).open("rb") as image:
                saved = default_storage.save(name, File(image, name=Path(name).name))
            stored.append(saved)
            if saved != name:
                raise RuntimeError(f"the storage renamed {name} to {saved}")
        if not _record(document_id, blob, status=PreviewStatus.READY, key=key, pages=pages,
                       page_count=result.get("page_count")):
            _delete(stored)
    except BaseException:
        _delete(stored)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _record(document_id: int, blob: str, *, status: str, key: str = "", pages: int = 0, error: str = "",
            page_count: int | None = None) -> bool:
    """Store a rendering's outcome on the document if it still has the file that was rendered; delete the images
    it replaces once committed. Return whether it was stored."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.file.name != blob:
            return False  # deleted, or a new version's file (its own rendering is queued)
        old = (document.preview_key, document.preview_pages)
        Document.objects.filter(pk=document_id).update(preview_status=status, preview_key=key, preview_pages=pages,
                                                       preview_error=error, page_count=page_count)
        cache.bump_document(document)
        if old[0] and old[0] != key:
            transaction.on_commit(lambda: previews_delete(blob, *old))
    return True


def document_previews_abandon(*, document_id: int, error: str) -> None:
    """The rendering's last attempt failed (storage unreachable, worker killed each time): no preview."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None or document.preview_status != PreviewStatus.PENDING:
            return
        Document.objects.filter(pk=document_id).update(preview_status=PreviewStatus.FAILED, preview_error=error[:200])
        cache.bump_document(document)


def orphan_previews_remove(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete preview images no document shows (left by a worker killed between storing and recording them, or
    by a deletion whose storage was unreachable), older than `older_than`; return how many."""
    from strongbox.documents.services import BLOB_PREFIX

    cutoff = timezone.now() - older_than
    removed = 0
    try:
        folders, _ = default_storage.listdir(BLOB_PREFIX)
    except FileNotFoundError:
        return 0
    for folder in folders:
        directories, _ = default_storage.listdir(f"{BLOB_PREFIX}/{folder}")
        blobs = [f"{BLOB_PREFIX}/{folder}/{name.removesuffix('.preview')}"
                 for name in directories if name.endswith(".preview")]
        # Documents in the trash keep their previews: they come back with them when restored.
        current = dict(Document.with_tombstones.filter(deleted_at__isnull=True, file__in=blobs)
                       .values_list("file", "preview_key"))
        for blob in blobs:
            for key in default_storage.listdir(f"{blob}.preview")[0]:
                if key == current.get(blob):
                    continue
                base = f"{blob}.preview/{key}"
                for name in default_storage.listdir(base)[1]:
                    if default_storage.get_modified_time(f"{base}/{name}") < cutoff:
                        default_storage.delete(f"{base}/{name}")
                        removed += 1
    return removed


# --- OCR settings -------------------------------------------------------------------------------------------------

@memoize
def _which(program: str) -> str | None:
    return shutil.which(program)


def _tesseract() -> str | None:
    return _which(settings.OCR_TESSERACT)


def ocr_availability() -> str:
    """Return "on", "off" (STRONGBOX_OCR=off) or "missing" (no tesseract binary on this server)."""
    if not settings.OCR:
        return "off"
    return "on" if _tesseract() else "missing"


def ocr_options() -> OcrOptions | None:
    """The OCR the extraction child should do, or None when it is off or unavailable."""
    if ocr_availability() != "on":
        return None
    return OcrOptions(tesseract=_tesseract(), languages=settings.OCR_LANGUAGES, seconds=settings.OCR_TIMEOUT,
                      max_pages=settings.OCR_MAX_PAGES, max_pixels=settings.PREVIEW_MAX_PIXELS)


# --- serving ------------------------------------------------------------------------------------------------------

def image_response(request: HttpRequest, document: Document, page: int) -> HttpResponse:
    """Answer with preview image `page` of the document (THUMBNAIL or 1…preview_pages), 304 for a current ETag;
    Http404 when it has none. No access check: the caller decides who may see the document."""
    if document.preview_status != PreviewStatus.READY or not document.preview_key:
        raise Http404("No preview.")
    if page != THUMBNAIL and not 1 <= page <= document.preview_pages:
        raise Http404("No such page.")
    etag = f'"{document.preview_key}-{page}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        try:
            handle = default_storage.open(preview_name(document.file.name, document.preview_key, page), "rb")
        except FileNotFoundError:
            raise Http404("No preview.") from None
        response = FileResponse(handle, content_type=IMAGE_CONTENT_TYPE)
        response.block_size = CHUNK
        response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=IMAGE_MAX_AGE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = IMAGE_CSP
    return response


def image_url(documents_url: str, document, page: int) -> str:
    """The URL of a preview image of a DocumentRow or Document under the documents' URL ("/documents/")."""
    which = "thumb" if page == THUMBNAIL else str(page)
    return f"{documents_url}{document.public_id}/preview/{which}/?v={document.preview_key}"


# --- the detail page ----------------------------------------------------------------------------------------------

def detail_context(request: HttpRequest, document) -> dict:
    """What the detail page shows of a document (a selectors.DocumentRow): its page images, one screen of
    PAGES_PER_SCREEN at a time (?pages=N), its text (escaped by the template) for text files, and what to say
    about OCR. Http404 for a screen that does not exist."""
    screens = max(1, -(-document.preview_pages // PAGES_PER_SCREEN))
    raw = request.GET.get("pages", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= screens:
        raise Http404("No such pages.")
    screen = int(raw)
    first = (screen - 1) * PAGES_PER_SCREEN + 1
    last = min(document.preview_pages, first + PAGES_PER_SCREEN - 1)
    ready = document.preview_status == PreviewStatus.READY
    base = reverse("documents:list")
    context = {
        "ready": ready,
        "pages": [(page, image_url(base, document, page)) for page in range(first, last + 1)] if ready else [],
        "screen": screen, "screens": screens,
        "capped": ready and document.page_count is not None and document.page_count > document.preview_pages,
        "ocr": ocr_availability(),
        "ocr_applies": document.extension in ("pdf", "png", "jpeg"),
        "text": None, "text_cut": False,
    }
    if document.extension in TEXT_EXTENSIONS:
        head = (DocumentText.objects.filter(document_id=document.pk)
                .values_list(Substr("body", 1, TEXT_PREVIEW_CHARS), Length("body")).first())
        if head is not None:
            context["text"], context["text_cut"] = head[0], head[1] > TEXT_PREVIEW_CHARS
    return context
