"""inspect_zip: structure, size and XML safety of docx/xlsx archives."""

import io
import zipfile

import pytest

from samples import (
    SAMPLES,
    document_xml,
    docx_entries,
    patch_zip_headers,
    pdf_bytes,
    zip_bomb_bytes,
    zip_bytes,
    zip_with_duplicates,
)
from strongbox.lib.archive import ArchiveLimits, ContentRejected, inspect_zip

MB = 1024 * 1024
DOCX_PARTS = ("[Content_Types].xml", "word/document.xml")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol3;</w:document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE w:document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&secret;</w:document>
"""


def rejection(content: bytes, *, limits: ArchiveLimits | None = None, required=DOCX_PARTS) -> ContentRejected:
    with pytest.raises(ContentRejected) as caught:
        inspect_zip(io.BytesIO(content), limits=limits or ArchiveLimits(), required=required)
    return caught.value


def test_it_returns_the_entry_names_of_a_real_docx():
    names = inspect_zip(io.BytesIO(SAMPLES["docx"][1]), limits=ArchiveLimits(), required=DOCX_PARTS)
    assert "word/document.xml" in names
    assert "[Content_Types].xml" in names


def test_it_accepts_a_real_xlsx_and_stored_entries():
    inspect_zip(io.BytesIO(SAMPLES["xlsx"][1]), limits=ArchiveLimits(), required=["xl/workbook.xml"])
    stored = zip_bytes(docx_entries(), compression=zipfile.ZIP_STORED)
    assert inspect_zip(io.BytesIO(stored), limits=ArchiveLimits(), required=DOCX_PARTS) == list(docx_entries())


def test_it_rejects_a_file_that_is_not_a_zip():
    error = rejection(pdf_bytes("x"))
    assert error.code == "content_mismatch"
    assert str(error) == "The file is not a ZIP archive."


def test_it_rejects_a_zip_with_data_in_front():
    error = rejection(b"<html>hi</html>" + zip_bytes(docx_entries()))
    assert error.code == "content_mismatch"


def test_it_rejects_a_truncated_zip():
    error = rejection(zip_bytes(docx_entries())[:-30])
    assert error.code == "content_mismatch"
    assert str(error) == "The file is not a valid ZIP archive."


def test_it_rejects_an_entry_with_a_bad_checksum():
    entries = docx_entries()
    content = bytearray(zip_bytes(entries, compression=zipfile.ZIP_STORED))
    at = content.index(b"Hello")
    content[at:at + 5] = b"Jello"
    error = rejection(bytes(content))
    assert error.code == "archive_corrupt"
    assert str(error) == "The archive is damaged: entry word/document.xml fails its checksum."


def test_it_rejects_a_missing_required_part():
    entries = docx_entries()
    del entries["word/document.xml"]
    error = rejection(zip_bytes(entries))
    assert error.code == "content_mismatch"
    assert str(error) == "The archive has no word/document.xml part."


def test_it_rejects_a_bomb_whose_header_understates_its_size():
    # The header says 1 KB; decompression stops as soon as the entry outgrows that.
    error = rejection(zip_bomb_bytes(64 * MB))
    assert error.code == "archive_unsafe"
    assert str(error) == ("The archive entry word/media/filler.bin expands beyond the size its header declares, "
                          "which is how zip bombs hide.")


def test_it_rejects_a_bomb_by_entry_size():
    limits = ArchiveLimits(max_entry_uncompressed=2 * MB, max_ratio=10_000)
    error = rejection(zip_bomb_bytes(3 * MB, declared_size=None), limits=limits)
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive entry word/media/filler.bin expands to more than 2 MB."


def test_it_rejects_a_bomb_by_compression_ratio():
    error = rejection(zip_bomb_bytes(2 * MB, declared_size=None))
    assert error.code == "archive_unsafe"
    assert str(error) == ("The archive entry word/media/filler.bin is compressed more than 200:1, "
                          "which is how zip bombs are made.")


def test_it_allows_high_ratios_on_small_entries():
    content = zip_bomb_bytes(512 * 1024, declared_size=None)
    assert "word/media/filler.bin" in inspect_zip(io.BytesIO(content), limits=ArchiveLimits(), required=DOCX_PARTS)


def test_it_rejects_too_much_data_in_total():
    entries = docx_entries() | {f"word/media/{n}.bin": bytes(MB) for n in range(3)}
    limits = ArchiveLimits(max_total_uncompressed=2 * MB, max_ratio=10_000)
    error = rejection(zip_bytes(entries), limits=limits)
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive expands to more than 2 MB in total."


def test_it_rejects_too_many_entries():
    entries = docx_entries() | {f"word/media/{n}.bin": b"x" for n in range(3)}
    error = rejection(zip_bytes(entries), limits=ArchiveLimits(max_entries=5))
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive has more than 5 entries."


def test_it_rejects_a_declared_entry_count_over_the_limit_before_reading_the_directory():
    content = bytearray(zip_bytes(docx_entries()))
    end = content.rfind(b"PK\x05\x06")
    content[end + 10:end + 12] = (60_000).to_bytes(2, "little")
    error = rejection(bytes(content))
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive has more than 1000 entries."


@pytest.mark.parametrize(("name", "problem"), [
    ("../evil.xml", "points outside the archive (..)"),
    ("word/../../evil.xml", "points outside the archive (..)"),
    ("/etc/cron.d/evil", "is an absolute path"),
    ("C:/Windows/evil.dll", "is an absolute path"),
    ("word\\..\\evil.xml", "contains a backslash"),
])
def test_it_rejects_dangerous_entry_names(name, problem):
    error = rejection(zip_bytes(docx_entries() | {name: b"x"}))
    assert error.code == "archive_unsafe"
    assert str(error) == f"The archive entry name {name} {problem}."


def test_it_rejects_a_symlink_entry():
    entries = docx_entries() | {"word/media/link": b"/etc/passwd"}
    error = rejection(zip_bytes(entries, symlinks=["word/media/link"]))
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive entry word/media/link is a symbolic link."


def test_it_rejects_an_encrypted_entry():
    content = patch_zip_headers(zip_bytes(docx_entries()), "word/document.xml", flag_bits=0x1)
    error = rejection(content)
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive entry word/document.xml is encrypted."


def test_it_rejects_duplicate_names_even_when_case_differs():
    parts = list(docx_entries().items())
    exact = rejection(zip_with_duplicates([*parts, ("word/document.xml", document_xml("Other"))]))
    assert exact.code == "archive_unsafe"
    assert str(exact) == "The archive contains word/document.xml more than once."
    folded = rejection(zip_with_duplicates([*parts, ("WORD/Document.xml", document_xml("Other"))]))
    assert str(folded) == "The archive contains WORD/Document.xml more than once."


def test_it_rejects_unusual_compression_methods():
    error = rejection(zip_bytes(docx_entries(), compression=zipfile.ZIP_BZIP2))
    assert error.code == "archive_unsafe"
    assert "uses an unsupported compression method" in str(error)


def test_it_rejects_entries_that_share_data():
    # b.txt's central record points inside a.bin, whose data is a copy of b.txt's own local record.
    inner = zip_bytes({"b.txt": b"hello"}, compression=zipfile.ZIP_STORED)
    record = inner[: inner.index(b"hello") + 5]
    entries = docx_entries() | {"a.bin": record, "b.txt": b"hello"}
    content = zip_bytes(entries, compression=zipfile.ZIP_STORED)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        a_data = archive.getinfo("a.bin").header_offset + 30 + len("a.bin")
    error = rejection(patch_zip_headers(content, "b.txt", header_offset=a_data))
    assert error.code == "archive_unsafe"
    assert str(error) == "The archive entry b.txt overlaps another entry."


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_it_rejects_xml_with_a_dtd_or_entities(document):
    error = rejection(zip_bytes(docx_entries(document)))
    assert error.code == "xml_unsafe"
    assert str(error) == ("The archive entry word/document.xml declares a DTD or entities, "
                          "which are not accepted.")


def test_it_checks_relationship_parts_too():
    entries = docx_entries() | {"_rels/.rels": b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://x/r.dtd"><r/>'}
    error = rejection(zip_bytes(entries))
    assert error.code == "xml_unsafe"
    assert "_rels/.rels declares a DTD" in str(error)


def test_it_rejects_xml_that_is_not_well_formed():
    error = rejection(zip_bytes(docx_entries(b"<w:document><w:body></w:document>")))
    assert error.code == "xml_unsafe"
    assert str(error) == "The archive entry word/document.xml is not well-formed XML."
