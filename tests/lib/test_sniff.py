"""check_upload: the extension must be allowed and the content must match it."""

import contextlib
import io

import pytest

from samples import (
    SAMPLES,
    docx_entries,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    xlsx_bytes,
    zip_bomb_bytes,
    zip_bytes,
)
from strongbox.lib.sniff import ALLOWED_EXTENSIONS, ArchiveLimits, ContentRejected, FileKind, check_upload

ALLOWED = "Allowed: pdf, png, jpeg, txt, md, csv, docx, xlsx."


def rejection(filename: str, content: bytes) -> ContentRejected:
    with pytest.raises(ContentRejected) as caught:
        check_upload(filename, io.BytesIO(content))
    return caught.value


@pytest.mark.parametrize("extension", sorted(SAMPLES))
def test_it_accepts_each_allowed_type(extension):
    filename, content, _ = SAMPLES[extension]
    kind = check_upload(filename, io.BytesIO(content))
    assert kind == ALLOWED_EXTENSIONS[extension]
    assert kind.extension == extension


def test_it_describes_each_kind_with_its_content_type():
    assert ALLOWED_EXTENSIONS["pdf"] == FileKind("pdf", "application/pdf", "PDF document")
    assert ALLOWED_EXTENSIONS["txt"].content_type == "text/plain; charset=utf-8"
    assert ALLOWED_EXTENSIONS["docx"].content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def test_it_treats_jpg_as_jpeg_and_ignores_extension_case():
    assert check_upload("HOLIDAY.JPG", io.BytesIO(jpeg_bytes())).extension == "jpeg"
    assert check_upload("Scan.Pdf", io.BytesIO(pdf_bytes("x"))).extension == "pdf"


def test_it_uses_only_the_last_suffix():
    error = rejection("report.pdf.exe", pdf_bytes("x"))
    assert error.code == "extension_not_allowed"
    assert str(error) == f"Files ending in .exe are not accepted. {ALLOWED}"
    assert check_upload("archive.exe.pdf", io.BytesIO(pdf_bytes("x"))).extension == "pdf"


def test_it_rejects_a_name_without_extension():
    error = rejection("README", b"hello")
    assert error.code == "extension_not_allowed"
    assert str(error) == f"Files without an extension are not accepted. {ALLOWED}"


def test_it_rejects_an_empty_file():
    error = rejection("notes.txt", b"")
    assert error.code == "empty_file"
    assert str(error) == "The file is empty."


def test_it_rejects_a_png_named_pdf():
    error = rejection("invoice.pdf", png_bytes())
    assert error.code == "content_mismatch"
    assert str(error) == "The file is named .pdf but its content is not a PDF document."


def test_it_rejects_text_named_png():
    error = rejection("pixel.png", b"just some words\n")
    assert error.code == "content_mismatch"
    assert str(error) == "The file is named .png but its content is not a PNG image."


def test_it_rejects_a_pdf_without_end_marker():
    error = rejection("cut.pdf", pdf_bytes("x").replace(b"%%EOF", b"%%END"))
    assert error.code == "content_mismatch"
    assert "no %%EOF marker" in str(error)


def test_it_rejects_a_jpeg_cut_short_but_accepts_zero_padding():
    error = rejection("photo.jpg", jpeg_bytes()[:-2])
    assert error.code == "content_mismatch"
    assert "no end-of-image marker" in str(error)
    assert check_upload("photo.jpg", io.BytesIO(jpeg_bytes() + bytes(100))).extension == "jpeg"


def test_it_rejects_a_png_with_an_invalid_header_chunk():
    content = bytearray(png_bytes())
    content[12:16] = b"IDAT"
    error = rejection("pixel.png", bytes(content))
    assert error.code == "content_mismatch"
    assert "header chunk is invalid" in str(error)


@pytest.mark.parametrize(("filename", "content", "marker"), [
    ("page.txt", b"  <!DOCTYPE html><html><body>hi</body></html>", "<!doctype"),
    ("page.txt", b"\xef\xbb\xbf\n<HTML><script>alert(1)</script>", "<html"),
    ("logo.md", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "<svg"),
    ("data.csv", b'<?xml version="1.0"?><a/>', "<?xml"),
    ("notes.txt", b"<script>alert(1)</script>", "<script"),
])
def test_it_rejects_markup_at_the_start_of_text(filename, content, marker):
    error = rejection(filename, content)
    assert error.code == "active_content"
    assert f"starts with HTML/SVG/XML markup ({marker})" in str(error)


def test_it_rejects_markup_near_the_top_of_text():
    error = rejection("notes.md", b"# Notes\n\nSee <script src=//evil.example/x.js></script>\n")
    assert error.code == "active_content"
    assert str(error) == ("The file is named .md but contains HTML/SVG/XML markup (<script), "
                          "which is not accepted.")


def test_it_accepts_harmless_html_in_markdown():
    content = b'<div align="center">\n\n# Project\n\n</div>\n\nLine one<br>line two\n'
    assert check_upload("README.md", io.BytesIO(content)).extension == "md"


def test_it_rejects_an_html_pdf_polyglot():
    error = rejection("paper.pdf", b"<html><body>click</body></html>\n" + pdf_bytes("x"))
    assert error.code == "active_content"
    assert str(error) == ("The file is named .pdf but starts with HTML/SVG/XML markup (<html), "
                          "which is not accepted.")


def test_it_rejects_text_that_is_not_utf8():
    error = rejection("menu.txt", "Café crème".encode("latin-1"))
    assert error.code == "content_mismatch"
    assert str(error) == "The file is named .txt but its content is not a text file: it is not valid UTF-8 text."


def test_it_rejects_a_multibyte_character_cut_off_at_the_end():
    error = rejection("menu.txt", "Café".encode()[:-1])
    assert error.code == "content_mismatch"
    assert "not valid UTF-8" in str(error)


def test_it_accepts_utf8_split_across_read_chunks_and_a_bom():
    content = "\ufeff".encode() + b"a" * (64 * 1024 - 4) + "ééé\n".encode()
    assert check_upload("long.txt", io.BytesIO(content)).extension == "txt"


def test_it_rejects_nul_bytes_in_text():
    error = rejection("notes.txt", b"hello\x00world")
    assert error.code == "content_mismatch"
    assert str(error) == "The file is named .txt but its content is not a text file: it contains NUL bytes."


def test_it_rejects_control_characters_but_allows_whitespace_controls():
    error = rejection("notes.txt", b"bell\x07")
    assert error.code == "content_mismatch"
    assert "the control character U+0007" in str(error)
    assert check_upload("notes.txt", io.BytesIO(b"tab\there\r\nform\x0cfeed\n")).extension == "txt"


def test_it_finds_control_characters_past_the_first_chunk():
    error = rejection("big.txt", b"a" * (200 * 1024) + b"\x1b[31m")
    assert error.code == "content_mismatch"
    assert "U+001B" in str(error)


def test_it_rejects_malformed_csv():
    error = rejection("data.csv", b'name,note\n"ann"bee,1\n')
    assert error.code == "content_mismatch"
    assert str(error).startswith("The file is named .csv but its content is not a CSV file: "
                                 "it cannot be read as CSV")


def test_it_accepts_csv_with_semicolons_and_quoted_newlines():
    content = b'name;note\n"ann";"line one\nline two"\nbob;"say ""hi"""\n'
    assert check_upload("data.csv", io.BytesIO(content)).extension == "csv"


def test_it_accepts_csv_whose_sample_ends_inside_a_quoted_field():
    content = b'id,text\n1,"' + b"x\n" * (40 * 1024) + b'"\n'
    assert check_upload("long.csv", io.BytesIO(content)).extension == "csv"


def test_it_rejects_a_text_file_named_docx():
    error = rejection("letter.docx", b"Dear friend\n")
    assert error.code == "content_mismatch"
    assert str(error) == "The file is named .docx but its content is not a Word document."


def test_it_rejects_a_workbook_named_docx():
    error = rejection("letter.docx", xlsx_bytes([["a"]]))
    assert error.code == "content_mismatch"
    assert str(error) == ("The file is named .docx but its content is not a Word document. "
                          "The archive has no word/document.xml part.")


def test_it_rejects_a_docx_missing_its_content_types():
    entries = docx_entries()
    del entries["[Content_Types].xml"]
    error = rejection("letter.docx", zip_bytes(entries))
    assert error.code == "content_mismatch"
    assert str(error).endswith("The archive has no [Content_Types].xml part.")


def test_it_passes_archive_rejections_through():
    error = rejection("letter.docx", zip_bomb_bytes(2 * 1024 * 1024, declared_size=None))
    assert error.code == "archive_unsafe"
    assert "compressed more than 200:1" in str(error)


def test_it_applies_the_given_archive_limits():
    with pytest.raises(ContentRejected) as caught:
        check_upload("letter.docx", io.BytesIO(SAMPLES["docx"][1]), limits=ArchiveLimits(max_entries=2))
    assert caught.value.code == "archive_unsafe"
    assert str(caught.value) == "The archive has more than 2 entries."


@pytest.mark.parametrize("content", [png_bytes(), b"<html>", b""])
def test_it_rewinds_the_file_whether_it_accepts_or_rejects(content):
    fileobj = io.BytesIO(content)
    fileobj.seek(3)
    with contextlib.suppress(ContentRejected):
        check_upload("pixel.png", fileobj)
    assert fileobj.tell() == 0
