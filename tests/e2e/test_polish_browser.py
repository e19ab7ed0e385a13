"""Issue 13's polish in a real browser, at desktop (1280 px) and phone (390 px) widths: pages that fit a phone,
the folding navigation, dark mode, the favicon, error pages with navigation, revoking a key with a confirmation,
Escape on the search suggestions, the live text status, and an oversize upload without JavaScript."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpers import browser_sign_in
from strongbox.accounts.services import api_key_create
from strongbox.documents import cache
from strongbox.documents.models import Document, TextStatus

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LONG_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/UQ1A.240105.004) AppleWebKit/537.36 (KHTML, like Gecko)"


@pytest.fixture
def open_page(browser, live_server, user, watch):
    """Return a function opening a page signed in as the test user, at a viewport, optionally in dark mode or
    without JavaScript."""
    contexts = []

    def make(viewport=DESKTOP, **options):
        context = browser.new_context(viewport=viewport, user_agent=LONG_AGENT, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = watch.attach(context.new_page())
        browser_sign_in(page, live_server.url, user.username)
        return page

    yield make
    for context in contexts:
        context.close()


def overflow(page) -> int:
    """How far the page is wider than its viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def filled(user, documents):
    """The test user with documents, a long-named API key and security activity (the sign-in records some)."""
    rows = documents(["Mortgage statement 2026 with a rather long title that wraps",
                      *[f"Doc {i:02}" for i in range(12)]])
    api_key_create(user=user, name="nightly backup of the whole archive to the NAS", scope="read")
    api_key_create(user=user, name="scanner", scope="write")
    return rows


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_pages_fit_the_screen_without_sideways_scrolling(open_page, live_server, filled, viewport):
    page = open_page(viewport)
    detail = f"/documents/{filled[0].public_id}/"
    for path in ("/accounts/keys/", "/accounts/activity/", "/documents/", "/documents/?q=mortgage", detail,
                 "/notifications/", "/accounts/", "/documents/upload/", "/documents/no-such-document/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
        assert overflow(page) <= 0, path
    if viewport == PHONE:
        page.goto(f"{live_server.url}/accounts/keys/")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "phone-keys.png"), full_page=True)


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(open_page, live_server):
    page = open_page(PHONE)
    upload = page.locator("#site-nav >> text=Upload")
    expect(upload).to_be_hidden()
    page.click("label.nav-toggle-label")
    expect(upload).to_be_visible()
    box = page.locator("#site-nav").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    upload.click()
    expect(page.locator("h1")).to_have_text("Upload documents")

    desktop = open_page(DESKTOP)
    expect(desktop.locator("label.nav-toggle-label")).to_be_hidden()
    expect(desktop.locator("#site-nav >> text=Upload")).to_be_visible()
    # One row: every link of the navigation at the height of the brand.
    tops = desktop.locator("#site-nav a").evaluate_all("links => links.map(a => a.getBoundingClientRect().top)")
    assert max(tops) - min(tops) < 5


def luminance(css_color: str) -> float:
    red, green, blue = (int(part) for part in css_color[css_color.index("(") + 1:].split(")")[0].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_dark_mode_follows_the_system_setting(open_page, live_server, filled):
    page = open_page(DESKTOP, color_scheme="dark")
    page.goto(f"{live_server.url}/documents/")
    body = page.evaluate("() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }")
    background, text = (luminance(color) for color in body)
    assert background < 0.15 and text > 0.8
    card = page.locator(".card").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert luminance(card) < 0.2
    search = page.locator("#id_q").evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]")
    assert luminance(search[0]) < 0.25 and luminance(search[1]) > 0.8
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dark-mode.png"))

    light = open_page(DESKTOP, color_scheme="light")
    light.goto(f"{live_server.url}/documents/")
    assert luminance(light.evaluate("getComputedStyle(document.body).backgroundColor")) > 0.9


def test_the_favicon_is_linked_and_favicon_ico_is_not_a_404(open_page, live_server):
    page = open_page()
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(live_server.url + href).status == 200
    response = page.goto(f"{live_server.url}/favicon.ico")
    assert response.status == 200 and "svg" in response.headers["content-type"]


def test_an_error_page_keeps_the_navigation(open_page, live_server, user):
    page = open_page()
    response = page.goto(f"{live_server.url}/documents/no-such-document/")
    assert response.status == 404
    expect(page.locator("#site-nav")).to_contain_text(user.username)
    page.click("#site-nav >> text=Documents")
    expect(page.locator("h1")).to_have_text("Documents")


def test_revoking_a_key_asks_first_in_place(open_page, live_server, filled):
    page = open_page()
    page.goto(f"{live_server.url}/accounts/keys/")
    page.evaluate("window.sameDocument = 'yes'")
    row = page.locator("tr", has_text="scanner")
    row.locator("text=Revoke…").click()
    expect(row.locator(".revoke-confirm")).to_contain_text("Revoke “scanner”")
    assert page.evaluate("window.sameDocument") == "yes"  # asked in place, not on another page
    row.locator("button:has-text('Revoke key')").click()
    expect(page.locator(".flash")).to_contain_text("Revoked “scanner”")
    expect(page.locator("tr", has_text="scanner")).to_contain_text("Revoked")


def test_revoking_a_key_asks_first_without_javascript(open_page, live_server, filled):
    page = open_page(java_script_enabled=False)
    page.goto(f"{live_server.url}/accounts/keys/")
    page.locator("tr", has_text="scanner").locator("text=Revoke…").click()
    expect(page.locator("h1")).to_have_text("Revoke an API key")
    page.click("text=Cancel")
    expect(page.locator("tr", has_text="scanner")).not_to_contain_text("Revoked")
    page.locator("tr", has_text="scanner").locator("text=Revoke…").click()
    page.click("button:has-text('Revoke key')")
    expect(page.locator("tr", has_text="scanner")).to_contain_text("Revoked")


def test_escape_closes_the_suggestions_and_keeps_the_search(open_page, live_server, filled):
    page = open_page()
    search = page.locator("#id_q")
    search.press_sequentially("mort", delay=30)
    expect(page.locator("#suggestions a")).to_have_count(1)
    search.press("Escape")
    expect(page.locator("#suggestions")).to_be_hidden()
    expect(search).to_have_value("mort")
    page.wait_for_function("() => document.activeElement.id === 'id_q'")
    page.wait_for_timeout(600)  # an answer still on its way must not reopen it
    expect(page.locator("#suggestions")).to_be_hidden()
    search.press_sequentially("g", delay=30)
    expect(page.locator("#suggestions")).to_be_visible()
    search.press("Enter")
    expect(page.locator(".result-count")).to_have_text("1 document matches “mortg”")


def test_a_new_documents_page_shows_when_its_text_is_indexed_without_reloading(open_page, live_server, documents):
    [document] = documents(["Fresh scan"])
    Document.objects.filter(pk=document.pk).update(text_status=TextStatus.PENDING)
    cache.bump(document.owner_id)
    page = open_page()
    page.goto(f"{live_server.url}/documents/{document.public_id}/")
    page.evaluate("window.sameDocument = 'yes'")
    status = page.locator("#text-status")
    expect(status).to_contain_text("Indexing…")
    Document.objects.filter(pk=document.pk).update(text_status=TextStatus.READY)
    expect(status).to_have_text("Indexed for search", timeout=6_000)
    assert page.evaluate("window.sameDocument") == "yes"
    polls = []
    page.on("request", lambda request: "text-status" in request.url and polls.append(request))
    page.wait_for_timeout(4_500)
    assert polls == []  # polling stopped once the text was ready


def test_an_oversize_upload_without_javascript_comes_back_with_the_input(open_page, live_server, settings):
    settings.MAX_UPLOAD_SIZE = 256 * 1024
    page = open_page(java_script_enabled=False)
    page.goto(f"{live_server.url}/documents/upload/")
    page.set_input_files("input[type=file]", files=[{"name": "huge.txt", "mimeType": "text/plain",
                                                     "buffer": b"words " * 300_000}])  # 1.8 MB
    page.fill("#id_title", "Holiday photos list")
    page.fill("#id_description", "typed with care")
    page.fill("#id_tags", "travel, 2026")
    response_status = []
    page.on("response", lambda response: response.request.method == "POST" and response_status.append(
        response.status))
    page.click("button:has-text('Upload')")
    expect(page.locator("#id_file_error")).to_contain_text("larger than the 0.25 MB limit")
    assert response_status == [413]
    expect(page.locator("#id_title")).to_have_value("Holiday photos list")
    expect(page.locator("#id_description")).to_have_value("typed with care")
    expect(page.locator("#id_tags")).to_have_value("travel, 2026")
    expect(page.locator("#site-nav")).to_be_visible()
