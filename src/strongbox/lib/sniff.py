"""Upload type validation: a file is accepted only if its extension is allowed AND its content matches it.

`check_upload` returns the `FileKind` to store the file as, or raises `ContentRejected` with `code` one of:
    extension_not_allowed  the name's last suffix is not an allowed extension
    empty_file             the file has no bytes
    content_mismatch       the content is not what the extension claims (wrong signature, not UTF-8, control
                           characters, unparsable CSV, a ZIP without the required parts)
    active_content         HTML/SVG/XML markup where a browser might render it (text files, polyglots)
    archive_unsafe, archive_corrupt, xml_unsafe
                           see strongbox.lib.archive (docx and xlsx only)
str(exc) is a sentence saying which rule failed.

Files are read in chunks, never whole, and the file position is back at 0 whenever check_upload returns or
raises. No Django imports: this runs in plain Python too.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import BinaryIO

from strongbox.lib.archive import ArchiveLimits, ContentRejected, inspect_zip

__all__ = ["ALLOWED_EXTENSIONS", "ArchiveLimits", "ContentRejected", "FileKind", "check_upload"]


@dataclass(frozen=True)
class FileKind:
    """What an accepted file is: canonical extension, the Content-Type to serve it with, and a human name."""

    extension: str
    content_type: str
    label: str


_PDF = FileKind("pdf", "application/pdf", "PDF document")
_PNG = FileKind("png", "image/png", "PNG image")
_JPEG = FileKind("jpeg", "image/jpeg", "JPEG image")
_TXT = FileKind("txt", "text/plain; charset=utf-8", "text file")
_MD = FileKind("md", "text/markdown; charset=utf-8", "Markdown file")
_CSV = FileKind("csv", "text/csv; charset=utf-8", "CSV file")
_DOCX = FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "Word document")
_XLSX = FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "Excel workbook")

_CANONICAL = (_PDF, _PNG, _JPEG, _TXT, _MD, _CSV, _DOCX, _XLSX)

#: Lower-case extension (without the dot) -> kind. "jpg" is an alias of "jpeg".
ALLOWED_EXTENSIONS: Mapping[str, FileKind] = MappingProxyType(
    {kind.extension: kind for kind in _CANONICAL} | {"jpg": _JPEG}
)

_ALLOWED_LIST = ", ".join(kind.extension for kind in _CANONICAL)

_CHUNK = 64 * 1024
_HEAD = 1024
_PDF_EOF_WINDOW = 1024  # PDF readers look for %%EOF within the last 1024 bytes
_JPEG_TAIL = 4096
_MARKUP_WINDOW = 4096
_CSV_SAMPLE = 64 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_START = b"\xff\xd8\xff"
_JPEG_END = b"\xff\xd9"
_ZIP_SIGNATURE = b"PK\x03\x04"
_UTF8_BOM = b"\xef\xbb\xbf"

# Browsers render a response as HTML/SVG when it starts like one (or when a text file is opened directly),
# so text files must not start with, or contain near the top, anything that would make them active content.
_LEADING_MARKUP = ("<!doctype", "<html", "<svg", "<?xml", "<script")
_EMBEDDED_MARKUP = ("<script", "<svg", "<html")

# C0 controls other than tab, line feed, form feed and carriage return never occur in real text files.
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_CSV_DELIMITERS = ",;\t|"

_REQUIRED_PARTS = {
    "docx": ("[Content_Types].xml", "word/document.xml"),
    "xlsx": ("[Content_Types].xml", "xl/workbook.xml"),
}


_DEFAULT_LIMITS = ArchiveLimits()


def check_upload(filename: str, fileobj: BinaryIO, *, limits: ArchiveLimits = _DEFAULT_LIMITS) -> FileKind:
    """Return the kind of an upload whose extension is allowed and whose content matches it.

    `filename` is the client's name (only its last suffix matters, case-insensitively); `fileobj` must be
    readable and seekable. `limits` bound what docx/xlsx archives may expand to. Raises ContentRejected.
    """
    suffix, kind = _suffix_and_kind(filename)
    try:
        fileobj.seek(0, io.SEEK_END)
        size = fileobj.tell()
        if size == 0:
            raise ContentRejected("empty_file", "The file is empty.")
        fileobj.seek(0)
        _reject_leading_markup(fileobj.read(_HEAD), suffix)
        fileobj.seek(0)
        _CHECKS[kind.extension](fileobj, size, _Claim(suffix, kind), limits)
        return kind
    finally:
        fileobj.seek(0)


def _suffix_and_kind(filename: str) -> tuple[str, FileKind]:
    """Return the name's last suffix, lower-cased, and the kind it claims."""
    basename = re.split(r"[/\\]", filename)[-1]
    _, dot, extension = basename.rpartition(".")
    if not dot or not extension:
        raise ContentRejected("extension_not_allowed",
                              f"Files without an extension are not accepted. Allowed: {_ALLOWED_LIST}.")
    kind = ALLOWED_EXTENSIONS.get(extension.lower())
    if kind is None:
        raise ContentRejected("extension_not_allowed",
                              f"Files ending in .{extension} are not accepted. Allowed: {_ALLOWED_LIST}.")
    return extension.lower(), kind


@dataclass(frozen=True)
class _Claim:
    """What the file's name says it is; messages quote the user's suffix, so .jpg stays .jpg."""

    suffix: str
    kind: FileKind

    def mismatch(self, detail: str = "") -> ContentRejected:
        message = f"The file is named .{self.suffix} but its content is not a {self.kind.label}"
        return ContentRejected("content_mismatch", f"{message}: {detail}." if detail else f"{message}.")


def _markup_in(text: str, *, anywhere: bool) -> str | None:
    """Return the markup marker `text` starts with (after BOM and whitespace) or, if `anywhere`, contains."""
    lowered = text.removeprefix("\ufeff").lstrip().lower()
    for marker in _LEADING_MARKUP:
        if lowered.startswith(marker):
            return marker
    if anywhere:
        for marker in _EMBEDDED_MARKUP:
            if marker in lowered:
                return marker
    return None


def _reject_leading_markup(head: bytes, suffix: str) -> None:
    # Binary formats also fail their signature check, but a polyglot deserves the more accurate message.
    marker = _markup_in(head.removeprefix(_UTF8_BOM).decode("latin-1"), anywhere=False)
    if marker:
        raise ContentRejected("active_content", f"The file is named .{suffix} but starts with "
                                                f"HTML/SVG/XML markup ({marker}), which is not accepted.")


def _check_pdf(fileobj: BinaryIO, size: int, claim: _Claim, limits: ArchiveLimits) -> None:
    if fileobj.read(5) != b"%PDF-":
        raise claim.mismatch()
    fileobj.seek(max(0, size - _PDF_EOF_WINDOW))
    if b"%%EOF" not in fileobj.read(_PDF_EOF_WINDOW):
        raise claim.mismatch("it has no %%EOF marker at the end, so it is incomplete")


def _check_png(fileobj: BinaryIO, size: int, claim: _Claim, limits: ArchiveLimits) -> None:
    head = fileobj.read(24)
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE):
        raise claim.mismatch()
    # The first chunk must be a 13-byte IHDR with a non-empty picture.
    length, chunk_type, width, height = struct.unpack(">I4sII", head[8:24])
    if chunk_type != b"IHDR" or length != 13 or width == 0 or height == 0:
        raise claim.mismatch("its header chunk is invalid")


def _check_jpeg(fileobj: BinaryIO, size: int, claim: _Claim, limits: ArchiveLimits) -> None:
    if fileobj.read(3) != _JPEG_START:
        raise claim.mismatch()
    fileobj.seek(max(0, size - _JPEG_TAIL))
    # Some cameras and tools pad the file with zero bytes after the end-of-image marker.
    if not fileobj.read(_JPEG_TAIL).rstrip(b"\x00").endswith(_JPEG_END):
        raise claim.mismatch("it has no end-of-image marker, so it is incomplete")


def _check_office(fileobj: BinaryIO, size: int, claim: _Claim, limits: ArchiveLimits) -> None:
    if fileobj.read(len(_ZIP_SIGNATURE)) != _ZIP_SIGNATURE:
        raise claim.mismatch()
    try:
        inspect_zip(fileobj, limits=limits, required=_REQUIRED_PARTS[claim.kind.extension])
    except ContentRejected as exc:
        if exc.code != "content_mismatch":
            raise
        raise ContentRejected("content_mismatch", f"{claim.mismatch()} {exc}") from exc


def _check_text(fileobj: BinaryIO, size: int, claim: _Claim, limits: ArchiveLimits) -> None:
    """Stream the file through a strict UTF-8 decoder, checking controls as it goes; keep only a sample."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    pieces: list[str] = []
    kept = decoded = 0
    try:
        while True:
            chunk = fileobj.read(_CHUNK)
            # final=True on the last (empty) read catches a multi-byte sequence cut off by the end of file.
            text = decoder.decode(chunk, final=not chunk)
            _reject_controls(text, claim)
            decoded += len(text)
            if kept < _CSV_SAMPLE:
                pieces.append(text[: _CSV_SAMPLE - kept])
                kept += len(pieces[-1])
            if not chunk:
                break
    except UnicodeDecodeError:
        raise claim.mismatch("it is not valid UTF-8 text") from None

    sample = "".join(pieces).removeprefix("\ufeff")
    marker = _markup_in(sample[:_MARKUP_WINDOW], anywhere=True)
    if marker:
        raise ContentRejected("active_content", f"The file is named .{claim.suffix} but contains "
                                                f"HTML/SVG/XML markup ({marker}), which is not accepted.")
    if claim.kind.extension == "csv":
        _check_csv(sample, kept == decoded, claim)


def _reject_controls(text: str, claim: _Claim) -> None:
    found = _FORBIDDEN_CONTROL.search(text)
    if found is None:
        return
    character = found.group()
    what = "NUL bytes" if character == "\x00" else f"the control character U+{ord(character):04X}"
    raise claim.mismatch(f"it contains {what}")


def _check_csv(sample: str, whole: bool, claim: _Claim) -> None:
    """Parse the sample strictly. A cut-off last record is expected when the sample is not the whole file."""
    if not whole:
        sample = sample[: sample.rfind("\n") + 1]
    try:
        for _ in csv.reader(io.StringIO(sample, newline=""), delimiter=_delimiter(sample), strict=True):
            pass
    except csv.Error as exc:
        # The 64 KB cut can land inside a quoted field spanning lines; the rest of the file would close it.
        if not whole and str(exc) == "unexpected end of data":
            return
        raise claim.mismatch(f"it cannot be read as CSV ({exc})") from None


def _delimiter(sample: str) -> str:
    """Pick the most frequent candidate delimiter of the first line, defaulting to a comma.

    csv.Sniffer is not used: its regular expressions backtrack quadratically on crafted input.
    """
    first_line = sample.partition("\n")[0]
    counts = {candidate: first_line.count(candidate) for candidate in _CSV_DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


_CHECKS: dict[str, Callable[[BinaryIO, int, _Claim, ArchiveLimits], None]] = {
    "pdf": _check_pdf,
    "png": _check_png,
    "jpeg": _check_jpeg,
    "txt": _check_text,
    "md": _check_text,
    "csv": _check_text,
    "docx": _check_office,
    "xlsx": _check_office,
}
