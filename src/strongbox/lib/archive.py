"""Safety inspection of ZIP-based uploads (docx, xlsx) before anything else opens them.

`inspect_zip` returns the archive's entry names or raises `ContentRejected`. It never writes to disk and holds
one decompressed chunk (plus the XML parser's state) in memory at a time, however large the entries claim or
turn out to be. It moves the file position; callers seek back themselves.

Rejection codes raised here:
    content_mismatch  not a ZIP archive, or a required part is missing
    archive_unsafe    too many entries, dangerous names, symlinks, encryption, unusual compression,
                      overlapping entries, or more uncompressed data than the limits allow (zip bombs)
    archive_corrupt   damaged data: truncated entries, bad checksums, sizes that disagree with the headers
    xml_unsafe        an .xml/.rels entry has a DTD, an entity declaration, an external reference, or is not
                      well-formed
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax import SAXException  # exception type only; parsing goes through defusedxml  # nosec B406
from xml.sax.handler import ContentHandler  # base class only; the parser is defusedxml's  # nosec B406

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

__all__ = ["ArchiveLimits", "ContentRejected", "inspect_zip"]


class ContentRejected(ValueError):
    """An upload failed validation.

    `code` is a stable short identifier for programs; str(exc) is a sentence saying which rule failed, fit to
    show to the person who uploaded the file.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what an archive may expand to. Sizes are in bytes of real (decompressed) data."""

    max_entries: int = 1000
    max_total_uncompressed: int = 100 * 1024 * 1024
    max_entry_uncompressed: int = 50 * 1024 * 1024
    max_ratio: int = 200


_CHUNK = 64 * 1024
# Small entries can legitimately compress extremely well (an empty sheet, a run of spaces); only entries past
# this size are held to max_ratio.
_RATIO_FLOOR = 1024 * 1024

_LOCAL_SIGNATURE = b"PK\x03\x04"
_END_SIGNATURE = b"PK\x05\x06"
_END_RECORD_SIZE = 22
_MAX_COMMENT = 0xFFFF
# signature, version, flags, method, time, date, crc, compressed size, size, name length, extra length
_LOCAL_HEADER = struct.Struct("<4sHHHHHLLLHH")

_ENCRYPTED = 0x0001 | 0x0040  # traditional and strong encryption flag bits
_UTF8_NAME = 0x0800
# Office files only use these. Others (bzip2, lzma) add decompressor attack surface and LZMA can demand huge
# dictionaries up front.
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_DRIVE = re.compile(r"[A-Za-z]:")
_XML_SUFFIXES = (".xml", ".rels")


def inspect_zip(fileobj: BinaryIO, *, limits: ArchiveLimits, required: Iterable[str] = ()) -> list[str]:
    """Check that `fileobj` is a well-formed, bounded ZIP archive containing every name in `required`.

    The limits are first applied to the sizes the central directory declares, so an honest bomb fails without
    any decompression. Then every entry is decompressed in streaming chunks and its real bytes counted,
    stopping the moment an entry produces more than it declared: the declared sizes are verified, not trusted,
    so the limits hold for the real data. Every .xml and .rels entry is fed through defusedxml with DTDs
    forbidden. Returns the entry names in directory order.
    """
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    # zipfile accepts data in front of the archive, which is how HTML/ZIP polyglots are made.
    if fileobj.read(len(_LOCAL_SIGNATURE)) != _LOCAL_SIGNATURE:
        raise ContentRejected("content_mismatch", "The file is not a ZIP archive.")
    _check_declared_count(fileobj, size, limits)
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error) as exc:
        raise ContentRejected("content_mismatch", "The file is not a valid ZIP archive.") from exc
    with archive:
        infos = archive.infolist()
    _check_directory(infos, limits)
    names = [info.filename for info in infos]
    missing = [name for name in required if name not in names]
    if missing:
        raise ContentRejected("content_mismatch", f"The archive has no {missing[0]} part.")

    data_end = 0
    for info in sorted(infos, key=lambda info: info.header_offset):
        # Entries sharing bytes let a small file expand many times over (the "overlapping files" zip bomb).
        if info.header_offset < data_end:
            raise ContentRejected("archive_unsafe",
                                  f"The archive entry {info.filename} overlaps another entry.")
        data_start = _data_start(fileobj, info)
        data_end = data_start + info.compress_size
        _scan_entry(fileobj, data_start, info)
    return names


def _check_declared_count(fileobj: BinaryIO, size: int, limits: ArchiveLimits) -> None:
    """Refuse archives whose end record announces too many entries, before zipfile makes an object for each.

    A ZIP64 archive announces 0xFFFF here (the real count lives elsewhere), so with the usual limits ZIP64
    archives are refused too; Office files never need ZIP64 at our sizes.
    """
    tail_size = min(size, _END_RECORD_SIZE + _MAX_COMMENT)
    fileobj.seek(size - tail_size)
    tail = fileobj.read(tail_size)
    at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END_RECORD_SIZE:
        raise ContentRejected("content_mismatch", "The file is not a valid ZIP archive.")
    (declared,) = struct.unpack_from("<H", tail, at + 10)
    if declared > limits.max_entries:
        raise _too_many_entries(limits)


def _too_many_entries(limits: ArchiveLimits) -> ContentRejected:
    return ContentRejected("archive_unsafe", f"The archive has more than {limits.max_entries} entries.")


def _check_directory(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    """Run the checks needing only the central directory, so hostile archives fail before decompression."""
    if len(infos) > limits.max_entries:
        raise _too_many_entries(limits)
    seen: set[str] = set()
    declared_total = 0
    for info in infos:
        name = info.orig_filename
        _check_name(name)
        # Office part names are case-insensitive, and so are some file systems: "A.xml" and "a.xml" collide.
        folded = name.casefold()
        if folded in seen:
            raise ContentRejected("archive_unsafe", f"The archive contains {name} more than once.")
        seen.add(folded)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ContentRejected("archive_unsafe", f"The archive entry {name} is a symbolic link.")
        if info.flag_bits & _ENCRYPTED:
            raise ContentRejected("archive_unsafe", f"The archive entry {name} is encrypted.")
        if info.compress_type not in _METHODS:
            raise ContentRejected("archive_unsafe",
                                  f"The archive entry {name} uses an unsupported compression method.")
        declared_total += info.file_size
        if info.file_size > limits.max_entry_uncompressed:
            limit = _megabytes(limits.max_entry_uncompressed)
            raise ContentRejected("archive_unsafe", f"The archive entry {name} expands to more than {limit}.")
        if declared_total > limits.max_total_uncompressed:
            limit = _megabytes(limits.max_total_uncompressed)
            raise ContentRejected("archive_unsafe", f"The archive expands to more than {limit} in total.")
        if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ContentRejected("archive_unsafe", f"The archive entry {name} is compressed more than "
                                  f"{limits.max_ratio}:1, which is how zip bombs are made.")


def _check_name(name: str) -> None:
    if "\x00" in name:
        raise ContentRejected("archive_unsafe", "An archive entry name contains a NUL character.")
    if "\\" in name:
        raise ContentRejected("archive_unsafe", f"The archive entry name {name} contains a backslash.")
    if name.startswith("/") or _DRIVE.match(name):
        raise ContentRejected("archive_unsafe", f"The archive entry name {name} is an absolute path.")
    if ".." in name.split("/"):
        raise ContentRejected("archive_unsafe",
                              f"The archive entry name {name} points outside the archive (..).")


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:g} MB"


def _corrupt(name: str, problem: str) -> ContentRejected:
    return ContentRejected("archive_corrupt", f"The archive is damaged: entry {name} {problem}.")


def _data_start(fileobj: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Read the entry's local header and return the offset of its compressed data.

    The local name must match the directory's: tools that read local headers and tools that read the directory
    would otherwise see different files.
    """
    fileobj.seek(info.header_offset)
    header = fileobj.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise _corrupt(info.filename, "has no valid local header")
    *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    raw_name = fileobj.read(name_length)
    encoding = "utf-8" if info.flag_bits & _UTF8_NAME else "cp437"
    if raw_name.decode(encoding, errors="replace") != info.orig_filename:
        raise _corrupt(info.filename, "has a different name in its local header")
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _scan_entry(fileobj: BinaryIO, data_start: int, info: zipfile.ZipInfo) -> None:
    """Decompress one entry and check it is exactly what the directory declares (size, checksum, safe XML)."""
    name = info.filename
    parser = _xml_parser() if name.lower().endswith(_XML_SUFFIXES) else None
    expanded = 0
    crc = 0
    try:
        for chunk in _decompressed_chunks(fileobj, data_start, info):
            expanded += len(chunk)
            # The limits were checked against the declared size; stop as soon as the entry outgrows it.
            if expanded > info.file_size:
                raise ContentRejected("archive_unsafe", f"The archive entry {name} expands beyond the size its "
                                      "header declares, which is how zip bombs hide.")
            crc = zlib.crc32(chunk, crc)
            if parser is not None:
                parser.feed(chunk)
        if parser is not None:
            parser.close()
    except zlib.error as exc:
        raise _corrupt(name, "has invalid compressed data") from exc
    except DefusedXmlException as exc:
        raise ContentRejected("xml_unsafe", f"The archive entry {name} declares a DTD or entities, "
                                            "which are not accepted.") from exc
    except SAXException as exc:
        raise ContentRejected("xml_unsafe", f"The archive entry {name} is not well-formed XML.") from exc
    if expanded != info.file_size:
        raise _corrupt(name, "is shorter than its header declares")
    if crc != info.CRC:
        raise _corrupt(name, "fails its checksum")


def _decompressed_chunks(fileobj: BinaryIO, data_start: int, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield an entry's real decompressed bytes, at most _CHUNK at a time, from compress_size raw bytes."""
    fileobj.seek(data_start)
    remaining = info.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == zipfile.ZIP_DEFLATED else None
    while remaining:
        raw = fileobj.read(min(_CHUNK, remaining))
        if not raw:
            raise _corrupt(info.filename, "is cut short")
        remaining -= len(raw)
        if inflater is None:
            yield raw
            continue
        # max_length bounds each output chunk; input the inflater could not yet use waits in unconsumed_tail.
        # Once the stream has ended it keeps leftover input there forever, hence the eof test.
        while raw and not inflater.eof:
            out = inflater.decompress(raw, _CHUNK)
            raw = inflater.unconsumed_tail
            if out:
                yield out
        if inflater.eof and (raw or remaining or inflater.unused_data):
            raise _corrupt(info.filename, "has data after the end of its compressed stream")
    if inflater is not None:
        # Whatever is still pending once all input is consumed is at most one back-reference long.
        out = inflater.flush()
        if out:
            yield out
        if not inflater.eof:
            raise _corrupt(info.filename, "ends in the middle of its compressed stream")


def _xml_parser() -> DefusedExpatParser:
    """An incremental SAX parser that rejects DTDs, entity declarations and external references."""
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    # Only well-formedness matters here; the default handler discards every event.
    parser.setContentHandler(ContentHandler())
    return parser
