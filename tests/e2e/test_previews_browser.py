"""Previews in a real browser, at desktop (1280) and phone (390) widths: thumbnails on the list's cards, PDF pages as
lazy-loaded images on the detail page, no CSP violation, nothing wider than the screen. Takes the screenshots of
docs/screenshots/list-thumbnails.png and detail-preview.png."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from fpdf import FPDF
from PIL import Image, ImageDraw

from helpers import browser_sign_in
from samples import FIXED_TIME, SAMPLES
from strongbox.documents import services
from strongbox.documents.models import Document, PreviewStatus
from strongbox.lib.sniff import check_upload

pytestmark = pytest.mark.browser
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}


def report_pdf(pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(FIXED_TIME)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", size=22)
        pdf.cell(0, 14, "Annual report 2025" if number == 1 else f"Chapter {number}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.set_fill_color(53, 56, 205)
        pdf.rect(10, 30, 190 * number / pages, 8, style="F")
        pdf.ln(16)
        pdf.multi_cell(0, 6, ("Revenue grew in every quarter, led by the northern region. " * 12 + "\n\n") * 3)
    return bytes(pdf.output())


def photo() -> bytes:
    image = Image.new("RGB", (1200, 800), (214, 234, 248))
    draw = ImageDraw.Draw(image)
    draw.ellipse((700, 120, 1000, 420), fill=(253, 200, 60))
    draw.polygon([(0, 800), (420, 330), (820, 800)], fill=(52, 120, 80))
    draw.polygon([(500, 800), (900, 420), (1200, 800)], fill=(40, 96, 64))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def store(owner, title: str, filename: str, content: bytes, category: str = "other") -> Document:
    upload = SimpleUploadedFile(filename, content)
    kind = check_upload(filename, upload)
    # Committed at once (a transactional test): the text and preview jobs run as the transaction commits.
    return services.document_create(owner=owner, title=title, description="", category=category, tags=[],
                                    upload=upload, kind=kind)


@pytest.fixture
def library(user):
    """A few documents of each kind, their previews rendered; return the long PDF."""
    store(user, "Shopping list", "list.txt", b"Groceries\n- oat milk\n- tomatoes\n- basil\n- bread\n- coffee\n")
    store(user, "Letter to the landlord", *SAMPLES["docx"][:2], category="letter")
    store(user, "Budget", *SAMPLES["xlsx"][:2], category="report")
    store(user, "Holiday photo", "photo.jpeg", photo(), category="personal")
    report = store(user, "Annual report", "report.pdf", report_pdf(12), category="report")
    assert set(Document.objects.values_list("preview_status", flat=True)) == {PreviewStatus.READY}
    return report


@pytest.fixture(params=sorted(WIDTHS))
def width(request):
    return request.param


@pytest.fixture
def page(browser, live_server, user, watch, width):
    context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    context.set_default_timeout(10_000)
    page = watch.attach(context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    yield page
    context.close()


def images_loaded(page, selector: str) -> None:
    page.wait_for_function(
        "selector => [...document.querySelectorAll(selector)].every(image => image.complete && image.naturalWidth)",
        arg=selector)


def fits_the_screen(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_list_shows_a_thumbnail_on_every_card(page, library, live_server, width, screenshot):
    page.goto(f"{live_server.url}/documents/")
    images_loaded(page, ".card .thumb img")
    thumbs = page.locator(".card .thumb img")
    assert thumbs.count() == 5
    boxes = page.locator(".card .thumb")
    for index in range(5):
        box = boxes.nth(index).bounding_box()
        assert (round(box["width"]), round(box["height"])) == (60, 80)
    assert thumbs.first.get_attribute("loading") == "lazy"
    assert fits_the_screen(page)
    screenshot(page, f"previews-list-{width}")
    if width == "desktop":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / "list-thumbnails.png"))


def test_the_detail_page_shows_pdf_pages_as_lazy_images(page, library, live_server, width, screenshot):
    requested: list[str] = []
    page.on("request", lambda request: "/preview/" in request.url and requested.append(request.url))
    page.goto(f"{live_server.url}/documents/{library.public_id}/")
    images_loaded(page, "#page-1 img")
    assert page.locator(".page img").count() == 10
    assert page.locator("iframe, embed, object").count() == 0
    # Far below the first screen, the last page is not fetched until it comes near.
    assert not any("/preview/10/" in url for url in requested)
    assert fits_the_screen(page)
    first = page.locator("#page-1 img").bounding_box()
    assert first["width"] <= WIDTHS[width]
    screenshot(page, f"previews-detail-{width}")
    if width == "desktop":
        page.set_viewport_size({"width": WIDTHS[width], "height": 1300})
        images_loaded(page, "#page-1 img")
        page.screenshot(path=str(DOCS_SCREENSHOTS / "detail-preview.png"))
    page.locator("#page-10").scroll_into_view_if_needed()
    images_loaded(page, "#page-10 img")
    assert any("/preview/10/" in url for url in requested)
    page.click("text=More pages")
    page.wait_for_url("**?pages=2*")
    images_loaded(page, "#page-11 img")
    assert page.locator(".page img").count() == 2


def test_an_image_is_shown_scaled_to_the_screen(page, user, library, live_server, width):
    photo_document = Document.objects.get(title="Holiday photo")
    page.goto(f"{live_server.url}/documents/{photo_document.public_id}/")
    images_loaded(page, ".page img")
    box = page.locator(".page img").bounding_box()
    assert 0 < box["width"] <= WIDTHS[width]
    assert fits_the_screen(page)


def test_a_text_file_is_shown_as_text(page, user, library, live_server):
    document = Document.objects.get(title="Shopping list")
    page.goto(f"{live_server.url}/documents/{document.public_id}/")
    assert "oat milk" in page.locator("pre.text-preview").inner_text()
    assert fits_the_screen(page)
