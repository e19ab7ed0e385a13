"""Sharing in a real browser, at desktop (1280) and phone (390) widths: the owner shares a document with bob through
the dialog on its page, bob finds it under "Shared with me"; the owner makes a link that opens without an account."""

import re
import shutil
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from helpers import browser_sign_in, make_user
from strongbox.documents import cache
from strongbox.documents.models import Document, DocumentText, TextStatus
from strongbox.documents.services import document_index

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}
TEXT = "Packing list\n- passports\n- sun cream\n- the quokka guide book\n"


@pytest.fixture
def bob(transactional_db, password_hash):
    return make_user("bob", password_hash)


@pytest.fixture
def trip(user):
    """The test user's text document with its file and extracted text."""
    name = default_storage.save("documents/e2e/trip", ContentFile(TEXT.encode()))
    document = Document.objects.create(owner=user, title="Trip to Rottnest", file=name, original_filename="trip.txt",
                                       extension="txt", content_type="text/plain; charset=utf-8",
                                       size=len(TEXT.encode()), sha256="0" * 64, text_status=TextStatus.READY,
                                       description="What to bring")
    DocumentText.objects.create(document=document, body=TEXT)
    document_index(document)
    cache.bump(user.pk)
    return document


@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_it_shares_with_bob_who_sees_it_under_shared_with_me(browser, live_server, user, bob, trip, width, watch,
                                                             screenshot):
    owner_context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    page = watch.attach(owner_context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/documents/{trip.public_id}/")
    panel = page.locator("#sharing")
    expect(panel).to_contain_text("Only you can see this document")
    panel.get_by_label("Username or e-mail address").fill("nobody-here")
    panel.get_by_role("button", name="Share").click()
    expect(page.locator("#sharing")).to_contain_text("Nobody with this username or e-mail address")
    page.locator("#sharing").get_by_label("Username or e-mail address").fill("bob")
    page.locator("#sharing").get_by_label("Permission").select_option("edit")
    page.locator("#sharing").get_by_role("button", name="Share").click()
    expect(page.locator("#sharing .share-list")).to_contain_text("bob")
    if width == "desktop":
        page.reload()
        page.locator("#sharing").scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "share-dialog.png"), full_page=True)
    screenshot(page, f"share-dialog-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    owner_context.close()

    bob_context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    bob_page = watch.attach(bob_context.new_page())
    browser_sign_in(bob_page, live_server.url, "bob")
    bob_page.get_by_role("link", name="Shared with me").click()
    expect(bob_page.locator("h1")).to_have_text("Shared with me")
    card = bob_page.locator("article.card", has_text="Trip to Rottnest")
    expect(card).to_contain_text("Shared by carol")
    card.get_by_role("link", name="Trip to Rottnest").click()
    expect(bob_page.locator(".shared-by")).to_contain_text("Shared with you by carol · you can edit it")
    expect(bob_page.get_by_role("link", name="Delete")).to_have_count(0)
    expect(bob_page.locator("#sharing")).to_have_count(0)
    assert bob_page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    bob_context.close()


@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_it_creates_a_link_that_opens_without_an_account(browser, live_server, user, trip, width, watch):
    context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    page = watch.attach(context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/documents/{trip.public_id}/sharing/")
    page.get_by_label("Valid for").select_option("1")
    page.get_by_role("button", name="Create link").click()
    url = page.locator("#new-link-url").input_value()
    assert re.search(r"/s/[\w-]{43}/$", url), url
    expect(page.locator("#links ~ .share-list")).to_contain_text("0 downloads")
    context.close()

    anonymous = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
    visitor = watch.attach(anonymous.new_page())
    response = visitor.goto(url)
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    expect(visitor.locator("h1")).to_have_text("Trip to Rottnest")
    expect(visitor.locator(".preview-text")).to_contain_text("the quokka guide book")
    expect(visitor.locator("body")).not_to_contain_text(user.username)
    if width == "desktop":
        visitor.screenshot(path=str(SCREENSHOTS / "share-link-page.png"), full_page=True)
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name="Download").click()
    target = Path(download.value.path())
    assert target.read_text() == TEXT
    assert visitor.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    anonymous.close()
    assert Document.objects.get().share_links.get().download_count == 1
    shutil.rmtree(target.parent, ignore_errors=True)
