"""Sample files for tests: every factory returns the same bytes on every call, on every machine with the same
library versions (fixed timestamps everywhere, no randomness).

SAMPLES maps each canonical extension to (filename, content, a distinctive word of its text, "" for images).
"""

import datetime
import io
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable

from docx import Document
from fpdf import FPDF
from openpyxl import Workbook

FIXED_TIME = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)

W_NAMESPACE = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

# A 1x1 grey baseline JPEG (JFIF, one greyscale component), as written by libjpeg.
_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d"
    "283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffc0000b08000100010111"
    "00ffc40014000100000000000000000000000000000000ffc40014100100000000000000000000000000000000ffda000801"
    "0100003f003fffd9"
)


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF whose text (Latin-1 only: it uses a core font) pypdf extracts back."""
    pdf = FPDF()
    pdf.set_creation_date(FIXED_TIME)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def png_bytes() -> bytes:
    """A 1x1 grey PNG, built chunk by chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale, no interlace
    pixels = zlib.compress(b"\x00\x80")  # filter type 0, then one grey pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    """A 1x1 grey JPEG."""
    return _JPEG


def docx_bytes(text: str) -> bytes:
    """A Word document with one paragraph; "\\n" in `text` becomes a line break and "\\t" a tab."""
    document = Document()
    document.add_paragraph(text)
    document.core_properties.created = FIXED_TIME
    document.core_properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    document.save(buffer)
    return _repacked(buffer.getvalue())


def xlsx_bytes(rows: list[list]) -> bytes:
    """An Excel workbook with one sheet holding `rows` (strings become shared strings)."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.properties.created = FIXED_TIME.replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _repacked(buffer.getvalue())


def _repacked(data: bytes) -> bytes:
    """Rewrite a generated Office file with fixed entry times and a fixed modification date in its properties."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time here whatever the properties say.
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(info.filename, _ZIP_TIME), content, compress_type=info.compress_type)
    return output.getvalue()


def zip_bytes(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED,
              symlinks: Iterable[str] = ()) -> bytes:
    """A ZIP archive of `entries` in order; names in `symlinks` are marked as Unix symbolic links."""
    links = set(symlinks)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = compression
            if name in links:
                info.create_system = 3  # Unix, so the mode bits below mean what they say
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, content)
    return output.getvalue()


def zip_with_duplicates(entries: list[tuple[str, bytes]]) -> bytes:
    """A ZIP archive that may repeat names, which zipfile writes only with a warning."""
    output = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(output, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), content)
    return output.getvalue()


def document_xml(*paragraphs: str) -> bytes:
    """A minimal word/document.xml with one paragraph per argument (text must not need XML escaping)."""
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<w:document xmlns:w="{W_NAMESPACE}"><w:body>{body}</w:body></w:document>').encode()


def docx_entries(document: bytes | None = None) -> dict[str, bytes]:
    """The parts of a minimal docx, for zip_bytes; `document` replaces word/document.xml."""
    return {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            b'<Default Extension="xml" ContentType="application/xml"/>'
            b'<Override PartName="/word/document.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": document if document is not None else document_xml("Hello"),
    }


def zip_bomb_bytes(entry_size: int, *, declared_size: int | None = 1024) -> bytes:
    """A docx-shaped archive whose word/media/filler.bin holds `entry_size` zero bytes, deflated ~1000:1.

    Its headers claim the entry is `declared_size` bytes (a lie, by default), or tell the truth if None.
    The zeros are streamed into the archive, so large sizes cost time but not memory.
    """
    name = "word/media/filler.bin"
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        for part, content in docx_entries().items():
            archive.writestr(zipfile.ZipInfo(part, _ZIP_TIME), content, compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo(name, _ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        zeros = bytes(1024 * 1024)
        with archive.open(info, "w") as entry:
            for offset in range(0, entry_size, len(zeros)):
                entry.write(zeros[: entry_size - offset])
    data = output.getvalue()
    if declared_size is None:
        return data
    return patch_zip_headers(data, name, declared_size=declared_size)


def patch_zip_headers(data: bytes, name: str, *, flag_bits: int | None = None, declared_size: int | None = None,
                      header_offset: int | None = None) -> bytes:
    """Overwrite fields of `name`'s local header and central directory record, as a hostile tool could.

    `declared_size` is the uncompressed size (both headers), `flag_bits` the general-purpose flags (both),
    `header_offset` where the central directory says the entry's local header is.
    """
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    central = _central_record(patched, name)
    if flag_bits is not None:
        struct.pack_into("<H", patched, local + 6, flag_bits)
        struct.pack_into("<H", patched, central + 8, flag_bits)
    if declared_size is not None:
        struct.pack_into("<L", patched, local + 22, declared_size)
        struct.pack_into("<L", patched, central + 24, declared_size)
    if header_offset is not None:
        struct.pack_into("<L", patched, central + 42, header_offset)
    return bytes(patched)


def _central_record(data: bytearray, name: str) -> int:
    """Offset of `name`'s central directory record (plain ZIP, no archive comment)."""
    end = data.rfind(b"PK\x05\x06")
    (position,) = struct.unpack_from("<L", data, end + 16)
    while position < end:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46: position + 46 + name_length] == name.encode():
            return position
        position += 46 + name_length + extra_length + comment_length
    raise KeyError(name)


SAMPLES: dict[str, tuple[str, bytes, str]] = {
    "pdf": ("report.pdf", pdf_bytes("Quarterly zephyr report"), "zephyr"),
    "png": ("pixel.png", png_bytes(), ""),
    "jpeg": ("photo.jpeg", jpeg_bytes(), ""),
    "txt": ("notes.txt", b"A quokka smiles at the camera.\n", "quokka"),
    "md": ("readme.md", b"# Breakfast\n\nToast with *marmalade*.\n", "marmalade"),
    "csv": ("prices.csv", b"fruit,price\ntamarind,3.50\nfig,2.10\n", "tamarind"),
    "docx": ("letter.docx", docx_bytes("Dear friend, the gondola leaves at noon."), "gondola"),
    "xlsx": ("budget.xlsx", xlsx_bytes([["item", "cost"], ["saffron", 42]]), "saffron"),
}
