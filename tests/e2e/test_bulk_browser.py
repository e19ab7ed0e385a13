"""Bulk work in a real browser, at desktop and phone widths: several files at once (picker and drag and drop),
each with its own progress bar and result; documents selected on the list and tagged; a ZIP download; and the
same without JavaScript."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from playwright.sync_api import expect

from helpers import browser_sign_in
from strongbox.documents.models import Document, TextStatus
from strongbox.documents.services import document_index

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
DUPLICATE = b"the same bank statement\n"


@pytest.fixture(params=sorted(WIDTHS))
def width(request):
    return request.param


@pytest.fixture
def page(browser, live_server, user, watch, width):
    context = browser.new_context(viewport=WIDTHS[width], accept_downloads=True)
    context.set_default_timeout(10_000)
    page = watch.attach(context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    yield page
    context.close()


def stored(user, files: list[tuple[str, str, bytes]]) -> list[Document]:
    """The user's documents with these titles, file names and contents, their files in the store."""
    rows = []
    for title, name, content in files:
        blob = storages["default"].save(f"documents/e2e/{hashlib.sha256(content).hexdigest()}", ContentFile(content))
        rows.append(Document.objects.create(
            owner=user, title=title, file=blob, original_filename=name, extension="txt", content_type="text/plain",
            size=len(content), sha256=hashlib.sha256(content).hexdigest(), text_status=TextStatus.READY))
        document_index(rows[-1])
    from strongbox.documents import cache

    cache.bump(user.pk)
    return rows


def text_file(name: str, content: bytes) -> dict:
    return {"name": name, "mimeType": "text/plain", "buffer": content}


def test_it_uploads_several_files_each_with_its_progress_and_result(page, live_server, user, settings, width):
    settings.MAX_UPLOAD_SIZE = 1000
    [earlier] = stored(user, [("Bank statement", "statement.txt", DUPLICATE)])
    page.goto(f"{live_server.url}/documents/upload/")
    held = []

    def hold_the_second(route):
        (held.append(route) if len(held) == 0 and route.request.post_data_buffer and b"again.txt"
         in route.request.post_data_buffer else route.continue_())

    page.route("**/documents/upload/file/", hold_the_second)
    page.set_input_files("input[type=file]", files=[
        text_file("Invoice_March.txt", b"invoice words\n"), text_file("again.txt", DUPLICATE),
        text_file("too-big.txt", b"x" * 5000)])
    page.fill("#id_tags", "inbox")
    page.click("button:has-text('Upload')")

    items = page.locator(".batch-item")
    expect(items).to_have_count(3)
    expect(page.locator(".batch-item progress")).to_have_count(3)
    expect(items.nth(0)).to_have_attribute("data-state", "stored")
    expect(items.nth(1)).to_have_attribute("data-state", "uploading")
    expect(items.nth(2)).to_have_attribute("data-state", "waiting")
    if width == "desktop":
        page.screenshot(path=str(SCREENSHOTS / "bulk-upload.png"), full_page=True)
    held.pop().continue_()

    expect(items.nth(1)).to_have_attribute("data-state", "duplicate")
    expect(items.nth(2)).to_have_attribute("data-state", "refused")
    expect(items.nth(0)).to_contain_text("Stored as Invoice March.")
    expect(items.nth(1).locator(".warn")).to_have_text("Already uploaded as Bank statement.")
    assert items.nth(1).locator(".warn a").get_attribute("href") == f"/documents/{earlier.public_id}/"
    expect(items.nth(2)).to_contain_text("larger than the 1000 B limit, so it was not sent")
    expect(page.locator(".batch-summary")).to_have_text("2 of 3 files uploaded.")
    if width == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    titles = sorted(Document.objects.filter(owner=user).values_list("title", flat=True))
    assert titles == ["Bank statement", "Invoice March", "again"]
    assert all(t == ["inbox"] for t in ([tag.name for tag in d.tags.all()]
                                        for d in Document.objects.filter(owner=user).exclude(pk=earlier.pk)))


def test_it_uploads_files_dropped_on_the_drop_zone(page, live_server, user):
    page.goto(f"{live_server.url}/documents/upload/")
    expect(page.locator(".drop-hint")).to_be_visible()
    dropped = page.evaluate_handle("""() => {
      const data = new DataTransfer();
      data.items.add(new File(["first dropped\\n"], "Dropped.txt", { type: "text/plain" }));
      data.items.add(new File(["second dropped\\n"], "Dropped.TXT", { type: "text/plain" }));
      return data;
    }""")
    page.dispatch_event("[data-drop-zone]", "dragenter", {"dataTransfer": dropped})
    expect(page.locator("[data-drop-zone]")).to_have_class("drop-zone dragging")
    page.dispatch_event("[data-drop-zone]", "drop", {"dataTransfer": dropped})
    assert page.evaluate("document.querySelector('input[type=file]').files.length") == 2
    page.click("button:has-text('Upload')")
    expect(page.locator(".batch-summary")).to_have_text("2 of 2 files uploaded.")
    assert sorted(Document.objects.filter(owner=user).values_list("title", flat=True)) == ["Dropped", "Dropped (2)"]


def test_it_tags_the_documents_selected_on_the_list(page, live_server, user, documents, width):
    documents(["Electricity March", "Electricity April", "Lease"])
    page.reload()
    bar = page.locator("#bulk-form")
    expect(bar).to_be_visible()
    expect(bar.locator(".bulk-actions")).to_be_hidden()  # nothing selected yet
    page.get_by_role("checkbox", name="Electricity March").check()
    page.get_by_role("checkbox", name="Electricity April").check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("2 selected.")
    expect(bar.locator(".bulk-actions")).to_be_visible()
    page.select_option("#bulk-action", "tag")
    expect(page.locator("#bulk-category")).to_be_hidden()
    page.fill("#bulk-tag", "utilities")
    if width == "desktop":
        page.screenshot(path=str(SCREENSHOTS / "bulk-actions.png"))
    else:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#bulk-form button:has-text('Apply')")
    expect(page.locator(".flash")).to_have_text("Added the tag “utilities” to 2 documents.")
    tagged = Document.objects.filter(owner=user, tags__name="utilities").values_list("title", flat=True)
    assert sorted(tagged) == ["Electricity April", "Electricity March"]
    expect(page.locator(".card .tag", has_text="utilities")).to_have_count(2)


def test_it_downloads_all_matching_documents_as_one_zip(page, live_server, user):
    stored(user, [("Alpha", "alpha.txt", b"alpha\n"), ("Beta", "beta.txt", b"beta\n"),
                  ("Gamma", "alpha.txt", b"gamma\n")])
    page.reload()
    page.check("[data-select-all]")
    expect(page.locator("[data-bulk-count]")).to_have_text("All matching documents selected.")
    page.select_option("#bulk-action", "download")
    with page.expect_download() as info:
        page.click("#bulk-form button:has-text('Apply')")
    download = info.value
    assert download.suggested_filename.startswith("strongbox-") and download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert sorted(archive.namelist()) == ["alpha (2).txt", "alpha.txt", "beta.txt"]


def test_it_works_without_javascript(browser, live_server, user, documents):
    documents(["First", "Second"])
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        browser_sign_in(page, live_server.url, user.username)
        page.get_by_role("checkbox", name="First").check()
        page.select_option("#bulk-action", "category")
        page.select_option("#bulk-category", "letter")
        page.click("#bulk-form button:has-text('Apply')")
        expect(page.locator(".flash")).to_have_text("Moved 1 document to Letter.")
        assert Document.objects.get(title="First").category == "letter"

        page.goto(f"{live_server.url}/documents/upload/")
        page.set_input_files("input[type=file]", files=[text_file("one.txt", b"one\n"),
                                                         text_file("two.txt", b"two\n")])
        page.click("button:has-text('Upload')")
        expect(page.locator("h1")).to_have_text("2 of 2 files uploaded")
        expect(page.locator(".batch-item[data-state=stored]")).to_have_count(2)
    finally:
        context.close()
