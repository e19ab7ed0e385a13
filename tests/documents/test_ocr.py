"""OCR: text of images and of PDF pages without a text layer is recognised with Tesseract inside the limited
extraction child, searchable, and the detail page says where a document's text came from.

The images and the scanned-style PDF are drawn here from known text. Without tesseract these tests skip (and fail
when CI=true), except those about OCR being unavailable."""

import io
import time

import pytest
from django.urls import reverse
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from helpers import upload
from hostile_pdf import shared_content_bomb
from samples import FIXED_TIME, pdf_bytes
from services.common import require_tool
from strongbox.documents import previews, selectors
from strongbox.documents.extract import OcrOptions
from strongbox.documents.extract.runner import ExtractionFailed, run_document_extraction
from strongbox.documents.models import Document, TextSource, TextStatus

pytestmark = pytest.mark.django_db
WORDS = "Walrus invoice number 4711"
MORE_WORDS = "Zitronen Marmelade"


@pytest.fixture
def tesseract():
    return require_tool("tesseract", "tesseract-ocr")


def drawn(lines: list[str], size=(1600, 600)) -> Image.Image:
    """Black text on white in a large font, as a scanner or a phone camera would see a printed page."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=64)
    for number, line in enumerate(lines):
        draw.text((60, 60 + number * 120), line, fill="black", font=font)
    return image


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def scanned_pdf(*pages: list[str]) -> bytes:
    """An image-only PDF: each page one picture of text, no text layer at all."""
    images = [drawn(lines, size=(1654, 2339)) for lines in pages]  # A4 at 200 dpi
    return encoded(images[0], "PDF", resolution=200, save_all=True, append_images=images[1:])


def mixed_pdf(text: str, scanned: list[str]) -> bytes:
    """A PDF whose first page has a text layer and whose second page is only a picture of text."""
    pdf = FPDF()
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_font("Helvetica", size=14)
    pdf.add_page()
    pdf.multi_cell(0, 10, text)
    pdf.add_page()
    pdf.image(io.BytesIO(encoded(drawn(scanned), "PNG")), x=10, y=10, w=190)
    return bytes(pdf.output())


@pytest.fixture
def add(alice_client, django_capture_on_commit_callbacks):
    def make(filename: str, content: bytes) -> Document:
        title = f"{filename} {Document.objects.count()}"
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(alice_client, filename=filename, content=content, title=title)
        assert response.status_code == 302, response.content.decode()[:500]
        return Document.objects.get(title=title)

    return make


def found(user, q: str) -> list[str]:
    return [row.title for row in selectors.document_page(user, selectors.ListQuery(q=q), 1).documents]


def detail(client, document: Document) -> str:
    return client.get(reverse("documents:detail", args=[document.public_id])).content.decode()


@pytest.mark.parametrize("filename, image_format", [("scan.png", "PNG"), ("photo.jpeg", "JPEG")])
def test_it_recognises_the_text_of_an_image_and_search_finds_it(filename, image_format, tesseract, add, alice,
                                                               alice_client):
    document = add(filename, encoded(drawn([WORDS, MORE_WORDS]), image_format))
    assert (document.text_status, document.text_source) == (TextStatus.READY, TextSource.OCR)
    assert found(alice, "walrus") == [document.title]
    assert found(alice, "marmelade 4711") == [document.title]
    assert "Text recognised with OCR" in detail(alice_client, document)


def test_it_recognises_a_scanned_pdf_page_by_page(tesseract, add, alice, alice_client):
    document = add("scan.pdf", scanned_pdf([WORDS], [MORE_WORDS]))
    assert document.text_source == TextSource.OCR
    assert found(alice, "walrus") == found(alice, "zitronen") == [document.title]
    assert document.text.body.index("Walrus") < document.text.body.index("Zitronen")
    page = detail(alice_client, document)
    assert "Text recognised with OCR" in page and "Pages</dt><dd>2" in page


def test_it_keeps_the_text_layer_and_recognises_only_the_pages_without_one(tesseract, add, alice):
    document = add("mixed.pdf", mixed_pdf("Typed gazebo minutes", [WORDS]))
    assert document.text_source == TextSource.OCR
    assert found(alice, "gazebo") == found(alice, "walrus") == [document.title]


def test_a_pdf_with_a_text_layer_keeps_layer_as_its_source(tesseract, add, alice, alice_client):
    document = add("report.pdf", pdf_bytes("Quarterly zephyr report"))
    assert document.text_source == TextSource.LAYER
    assert found(alice, "zephyr") == [document.title]
    assert "Text from the PDF’s text layer" in detail(alice_client, document)


def test_an_image_without_text_says_no_text_found(tesseract, add, alice_client):
    document = add("blank.png", encoded(Image.new("RGB", (300, 200), "white"), "PNG"))
    assert (document.text_status, document.text_source) == (TextStatus.READY, TextSource.NONE)
    page = detail(alice_client, document)
    assert "No text found" in page and "not available" not in page


def test_with_ocr_turned_off_an_image_has_no_text_and_the_page_says_why(add, alice, alice_client, settings):
    settings.OCR = False
    document = add("scan.png", encoded(drawn([WORDS]), "PNG"))
    assert (document.text_status, document.text_source) == (TextStatus.READY, TextSource.NONE)
    assert found(alice, "walrus") == []
    assert "No text found (OCR is turned off on this server)" in detail(alice_client, document)


def test_without_tesseract_the_page_says_ocr_is_not_available(add, alice_client, settings):
    settings.OCR_TESSERACT = "/nonexistent/tesseract"
    assert previews.ocr_availability() == "missing" and previews.ocr_options() is None
    document = add("scan.png", encoded(drawn([WORDS]), "PNG"))
    assert (document.text_status, document.text_source) == (TextStatus.READY, TextSource.NONE)
    page = detail(alice_client, document)
    assert "OCR is not available on this server" in page


def test_a_text_file_is_read_from_the_file(add, alice_client):
    document = add("notes.txt", b"plain quokka words\n")
    assert document.text_source == TextSource.LAYER
    assert "Text read from the file" in detail(alice_client, document)


def test_a_hostile_pdf_is_stopped_while_its_text_layer_is_read_not_after_ocr(tesseract, tmp_path):
    path = tmp_path / "bomb.pdf"
    path.write_bytes(shared_content_bomb(pages=30, operators=100_000))
    options = OcrOptions(tesseract=tesseract, languages="eng", seconds=60, max_pages=20, max_pixels=50_000_000)
    started = time.monotonic()
    with pytest.raises(ExtractionFailed, match="timed out"):
        run_document_extraction(str(path), "pdf", timeout=2, ocr=options)
    assert time.monotonic() - started < 20


def test_ocr_is_bounded_by_its_own_budget(tesseract, tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf([WORDS], [MORE_WORDS], [WORDS]))
    options = OcrOptions(tesseract=tesseract, languages="eng", seconds=60, max_pages=1, max_pixels=50_000_000)
    result = run_document_extraction(str(path), "pdf", ocr=options)
    assert result["ocr_pages"] == 1 and "Walrus" in result["text"] and "Zitronen" not in result["text"]
