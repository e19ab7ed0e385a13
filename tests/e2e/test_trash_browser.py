"""Trash and versions in a real browser, on a desktop and a phone: upload a new version and download the old
one; delete, find the document in the trash, restore it. The desktop run saves docs/screenshots/trash.png."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from strongbox.documents import services
from strongbox.documents.models import Document
from strongbox.lib.sniff import check_upload

pytestmark = pytest.mark.browser
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FIRST = b"# Budget\n\nfirst draft of the apricot budget\n"
SECOND = b"# Budget\n\nsecond draft of the blueberry budget\n"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def create(user, title: str, name: str, content: bytes) -> Document:
    upload = SimpleUploadedFile(name, content)
    return services.document_create(owner=user, title=title, description="", category="other", tags=[],
                                    upload=upload, kind=check_upload(name, upload))


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_versions_then_trash_and_restore(device, browser, live_server, user, watch, screenshot, isolated_storage):
    from helpers import browser_sign_in

    context = browser.new_context(viewport=VIEWPORTS[device], accept_downloads=True)
    context.set_default_timeout(10_000)
    page = watch.attach(context.new_page())
    try:
        browser_sign_in(page, live_server.url, user.username)
        document = create(user, "Budget 2027", "budget.md", FIRST)
        detail = f"{live_server.url}/documents/{document.public_id}/"

        # A new version, from the form on the detail page (no JavaScript needed for it).
        page.goto(detail)
        page.click("summary:has-text('Upload a new version')")
        page.set_input_files(".version-form input[type=file]",
                             files=[{"name": "budget-v2.md", "mimeType": "text/markdown", "buffer": SECOND}])
        page.click("button:has-text('Upload new version')")
        page.wait_for_url(detail)
        assert page.locator(".flash").first.inner_text().startswith("Uploaded version 2")
        assert "Version 2 (current)" in page.locator(".versions").inner_text()
        assert no_horizontal_scroll(page)
        screenshot(page, f"versions-{device}")

        # The old version still downloads, with its own name and bytes.
        with page.expect_download() as info:
            page.click("a:has-text('Download version 1')")
        download = info.value
        assert download.suggested_filename == "budget.md"
        assert Path(download.path()).read_bytes() == FIRST

        # Delete: it asks first, then the document is in the trash, counted in the header.
        page.click("a:has-text('Move to trash')")
        page.click("button:has-text('Move to trash')")
        page.wait_for_url(f"{live_server.url}/documents/")
        assert "Moved “Budget 2027” to the trash" in page.locator(".flash").inner_text()
        if device == "desktop":
            for title in ("Old insurance letter", "Scanned receipt 2019"):
                services.document_trash(document=create(user, title, "letter.txt", b"words\n"), actor=user)
        if page.locator("label.nav-toggle-label").is_visible():  # on a phone the navigation folds behind Menu
            page.click("label.nav-toggle-label")
        page.click("header a[href='/documents/trash/']")
        page.wait_for_url(f"{live_server.url}/documents/trash/")
        item = page.locator(".trash-item", has_text="Budget 2027")
        assert "Deleted for good on" in item.inner_text()
        assert no_horizontal_scroll(page)
        if device == "desktop":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_SCREENSHOTS / "trash.png"), full_page=True)
        screenshot(page, f"trash-{device}")

        # Restore: back on its page, with both versions.
        item.locator("button:has-text('Restore')").click()
        page.wait_for_url(detail)
        assert page.locator(".flash").inner_text() == "Restored “Budget 2027”."
        assert "Version 1" in page.locator(".versions").inner_text()
        assert Document.objects.filter(pk=document.pk).exists()
    finally:
        context.close()
