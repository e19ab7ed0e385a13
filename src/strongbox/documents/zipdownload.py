"""Several documents as one ZIP, streamed: the archive is produced while it is sent, each file read from the
store (local or S3) in CHUNK blocks as its turn comes, so neither memory nor disk ever holds the archive or a
whole file. Stored uncompressed (documents are mostly compressed formats already), which also gives the archive
a known length up front (Content-Length, and a browser's progress bar)."""

from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from zipstream import ZIP_STORED, ZipStream

from strongbox.documents.models import Document
from strongbox.lib.filenames import clean_filename

CHUNK = 64 * 1024
MAX_FILES = 1000
MAX_BYTES = 4 * 1024**3


class ZipTooLarge(Exception):
    """The selection is beyond what one archive may hold; nothing was sent."""


def unique_names(filenames: Iterable[str]) -> list[str]:
    """Return the names cleaned and made unique case-insensitively (as Windows and macOS compare them):
    "a.pdf", "a (2).pdf", …"""
    seen: set[str] = set()
    names = []
    for filename in filenames:
        name = clean_filename(filename, fallback_extension="bin", max_bytes=200)
        stem, dot, extension = name.rpartition(".")
        stem, suffix = (stem, f".{extension}") if dot and stem else (name, "")
        candidate, number = name, 2
        while candidate.lower() in seen:
            candidate = f"{stem} ({number}){suffix}"
            number += 1
        seen.add(candidate.lower())
        names.append(candidate)
    return names


def _chunks(name: str) -> Iterator[bytes]:
    # A generator: the file is opened only when the archive reaches it, and closed before the next one.
    with default_storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def check_limits(documents: list[Document]) -> None:
    """Refuse (ZipTooLarge) a selection of more than MAX_FILES files or MAX_BYTES in all."""
    if len(documents) > MAX_FILES:
        raise ZipTooLarge(f"At most {MAX_FILES} documents can be downloaded as one ZIP.")
    total = sum(document.size for document in documents)
    if total > MAX_BYTES:
        raise ZipTooLarge(f"The selected documents hold {total / 1024**3:.1f} GB; one ZIP can hold at most "
                          f"{MAX_BYTES / 1024**3:g} GB. Select fewer.")


def zip_stream(documents: list[Document]) -> ZipStream:
    """Return the (lazy, sized) archive of the documents' files under unique cleaned original names."""
    check_limits(documents)
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for document, name in zip(documents, unique_names(d.original_filename for d in documents), strict=True):
        archive.add(_chunks(document.file.name), name, size=document.size)
    return archive


def zip_response(documents: list[Document]) -> StreamingHttpResponse:
    """Answer with the documents' ZIP as an attachment, streamed (ZipTooLarge past the limits)."""
    archive = zip_stream(documents)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    name = f"strongbox-{timezone.localtime():%Y-%m-%d-%H%M}.zip"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, no_store=True)
    return response
