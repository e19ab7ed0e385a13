"""The interactive UI in a real browser: background upload with progress, errors in place, search suggestions,
infinite scroll, inline title edit, live notification badge, and the same features with JavaScript off."""

import json
import re

import pytest
from playwright.sync_api import expect

from helpers import PASSWORD
from strongbox.documents.models import Document

pytestmark = pytest.mark.browser
BIG_TEXT = b"plain words for the progress bar\n" * 60_000  # about 2 MB: several upload progress events

# Records, in sessionStorage (which survives the redirect), what the upload looked like from inside the page.
RECORD_UPLOAD = """() => {
  window.sameDocument = "yes";
  const form = document.querySelector("#upload-form");
  const record = { progressEvents: 0 };
  form.addEventListener("htmx:xhr:progress", () => { record.progressEvents += 1; });
  form.addEventListener("htmx:afterRequest", () => {
    const box = form.querySelector(".upload-progress");
    const bar = box.querySelector("progress");
    Object.assign(record, { sameDocument: window.sameDocument, hidden: box.hidden, visible: bar.offsetParent !== null,
                            value: bar.value, max: bar.max, state: box.dataset.state });
    sessionStorage.setItem("upload-record", JSON.stringify(record));
  });
}"""


def posts_to(page, path: str) -> list:
    """Start recording the POST requests the page sends to `path`; return the (growing) list."""
    seen = []
    page.on("request", lambda request: request.method == "POST" and request.url.endswith(path) and seen.append(
        request))
    return seen


def expect_focused(locator):
    """Wait until the element holds the document's focus. Asked of the document itself: Playwright's
    to_be_focused also needs the browser window to have the system focus, which a headless run does not always
    give (it reported "inactive" once in CI)."""
    locator.page.wait_for_function("element => element === document.activeElement", arg=locator.element_handle(),
                                   timeout=5000)


def settled(page):
    """Wait until htmx has swapped and settled. It binds swapped-in content when it settles, so a user acts after
    that: a click or an Enter in the few milliseconds before would submit without htmx (which works too, as a
    full page load, but is not what the test is about)."""
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")


def choose_file(page, name: str, content: bytes):
    page.set_input_files("input[type=file]", files=[{"name": name, "mimeType": "text/plain", "buffer": content}])


def test_it_uploads_in_the_background_with_a_progress_bar(signed_in, live_server, screenshot):
    page = signed_in
    page.click("header >> text=Upload")
    posts = posts_to(page, "/documents/upload/")
    page.evaluate(RECORD_UPLOAD)
    choose_file(page, "big-notes.txt", BIG_TEXT)
    page.fill("#id_title", "Big notes")
    page.fill("#id_tags", "progress, e2e")
    page.click("button:has-text('Upload')")
    document_url = re.compile(r"/documents/[\w-]{22}/$")
    page.wait_for_url(document_url)

    [post] = posts
    assert post.resource_type == "xhr" and post.headers.get("hx-request") == "true"
    record = json.loads(page.evaluate("sessionStorage.getItem('upload-record')"))
    assert record["sameDocument"] == "yes"  # the page was not reloaded by the submit
    assert record["progressEvents"] > 0
    assert record["visible"] and not record["hidden"]
    assert record["value"] == record["max"] == 100 and record["state"] == "complete"
    expect(page.locator("h1")).to_have_text("Big notes")
    expect(page.locator(".flash")).to_contain_text("Uploaded “Big notes”")
    assert Document.objects.get().size == len(BIG_TEXT)
    screenshot(page, "detail")


def test_it_shows_upload_errors_in_place_and_keeps_the_input(signed_in, live_server, documents, settings, screenshot):
    documents(["Taken"])
    page = signed_in
    page.goto(f"{live_server.url}/documents/upload/")
    page.evaluate("window.sameDocument = 'yes'")
    choose_file(page, "notes.txt", b"some words\n")
    page.fill("#id_title", "TAKEN")
    page.fill("#id_description", "kept description")
    page.select_option("#id_category", "letter")
    page.click("button:has-text('Upload')")

    expect(page.locator("#id_title_error")).to_have_text("You already have a document with this title.")
    expect(page.locator(".form-messages")).to_contain_text("choose the file again")
    expect(page.locator("#id_title")).to_have_value("TAKEN")
    expect(page.locator("#id_description")).to_have_value("kept description")
    expect(page.locator("#id_category")).to_have_value("letter")
    assert page.evaluate("window.sameDocument") == "yes"
    assert page.url.endswith("/documents/upload/")
    screenshot(page, "upload-error")

    # Correcting the title and choosing the file again uploads it.
    choose_file(page, "notes.txt", b"some words\n")
    page.fill("#id_title", "Not taken")
    page.click("button:has-text('Upload')")
    expect(page.locator("h1")).to_have_text("Not taken")


def test_it_refuses_a_file_over_the_limit_before_sending_it(signed_in, live_server, settings):
    settings.MAX_UPLOAD_SIZE = 1000
    page = signed_in
    page.goto(f"{live_server.url}/documents/upload/")
    posts = posts_to(page, "/documents/upload/")
    choose_file(page, "big.txt", b"x" * 1001)
    error = page.locator("#id_file_client_error")
    expect(error).to_have_text("The file is larger than the 1000 B limit, so it was not sent.")
    page.fill("#id_title", "Too big")
    page.click("button:has-text('Upload')")
    expect(error).to_be_visible()
    page.wait_for_timeout(300)
    assert posts == []
    choose_file(page, "small.txt", b"x" * 10)
    expect(error).to_have_count(0)


def test_it_suggests_documents_while_typing(signed_in, live_server, documents, screenshot):
    documents(["Mortgage statement", "Mortar supplies", "Lease"])
    page = signed_in
    page.reload()
    search = page.locator("#id_q")
    search.press_sequentially("m", delay=30)
    page.wait_for_timeout(400)
    expect(page.locator("#suggestions a")).to_have_count(0)
    search.press_sequentially("ort", delay=30)
    links = page.locator("#suggestions a")
    expect(links).to_have_count(2)
    assert sorted(links.all_inner_texts()) == ["Mortar supplies", "Mortgage statement"]
    screenshot(page, "search-suggestions")

    search.press_sequentially("g", delay=30)
    expect(links).to_have_count(1)
    search.press("ArrowDown")
    expect_focused(links.first)
    page.keyboard.press("Escape")
    expect_focused(search)
    expect(page.locator("#suggestions")).to_be_hidden()
    search.press_sequentially("a", delay=30)  # "mortga"
    expect(links).to_have_count(1)
    links.first.click()
    expect(page.locator("h1")).to_have_text("Mortgage statement")


def test_it_loads_more_documents_when_scrolled_to_the_end(signed_in, live_server, documents, screenshot):
    documents([f"Doc {i:03}" for i in range(60)])
    page = signed_in
    page.goto(f"{live_server.url}/documents/?sort=title")
    cards = page.locator("#cards .card")
    expect(cards).to_have_count(50)
    screenshot(page, "list")
    page.locator("#pager").scroll_into_view_if_needed()
    page.mouse.wheel(0, 20_000)
    expect(cards).to_have_count(60)
    titles = cards.locator("h2").all_inner_texts()
    assert titles == [f"Doc {i:03}" for i in range(60)]
    expect(page.locator("#pager")).to_contain_text("Showing 60 of 60")
    assert page.url.endswith("/documents/?sort=title")


def test_it_edits_a_title_in_place(signed_in, live_server, documents):
    [document] = documents(["Lease", "Taken"])[:1]
    page = signed_in
    page.goto(f"{live_server.url}/documents/{document.public_id}/")
    page.evaluate("window.sameDocument = 'yes'")
    page.click("text=Edit title")
    title = page.locator("#document-title input[name=title]")
    expect_focused(title)
    expect(title).to_have_value("Lease")

    title.fill("")
    page.click("button:has-text('Save title')")
    expect(page.locator("#document-title .error")).to_have_text("This field is required.")
    settled(page)
    page.locator("#document-title input[name=title]").fill("taken")
    page.click("button:has-text('Save title')")
    expect(page.locator("#document-title .error")).to_have_text("You already have a document with this title.")
    expect(page.locator("#document-title input[name=title]")).to_have_value("taken")
    settled(page)

    page.click("#document-title >> text=Cancel")
    expect(page.locator("h1")).to_have_text("Lease")
    settled(page)
    page.click("text=Edit title")
    expect_focused(page.locator("#document-title input[name=title]"))
    page.locator("#document-title input[name=title]").fill("Lease 2026")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Lease 2026")
    expect(page).to_have_title("Lease 2026 · Strongbox")
    expect_focused(page.locator("text=Edit title"))
    assert page.evaluate("window.sameDocument") == "yes"
    document.refresh_from_db()
    assert document.title == "Lease 2026"


def test_it_shows_a_new_notification_in_the_badge_without_reloading(signed_in, context, live_server, watch,
                                                                    screenshot):
    reader = signed_in
    reader.evaluate("window.sameDocument = 'yes'")
    badge = reader.locator("#notification-count")
    expect(badge).to_have_text("")

    uploader = watch.attach(context.new_page())
    uploader.goto(f"{live_server.url}/documents/upload/")
    choose_file(uploader, "lease.txt", b"The lease of the flat\n")
    uploader.fill("#id_title", "Lease")
    uploader.click("button:has-text('Upload')")
    expect(uploader.locator("h1")).to_have_text("Lease")

    expect(badge).to_have_text("1 unread", timeout=8_000)  # the next poll, at most 5 s later
    assert reader.evaluate("window.sameDocument") == "yes"

    reader.click("a.notification-link")
    expect(reader.locator(".notification.unread")).to_contain_text("“Lease” is indexed and can be searched.")
    screenshot(reader, "notifications")
    reader.click("button:has-text('Mark all as read')")
    expect(reader.locator(".flash")).to_have_text("Marked 1 notification as read.")
    expect(reader.locator("#notification-count")).to_have_text("")
    reader.click(".notification >> text=Open “Lease”")
    expect(reader.locator("h1")).to_have_text("Lease")


def test_it_works_without_javascript(browser, live_server, user, documents):
    documents([f"Doc {i:03}" for i in range(51)])
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{live_server.url}/documents/")
        page.click("a[rel=next]")
        expect(page.locator("#cards .card")).to_have_count(1)

        page.goto(f"{live_server.url}/documents/upload/")
        choose_file(page, "notes.txt", b"some words\n")
        page.fill("#id_title", "doc 000")  # taken (an empty title would come from the file's name)
        page.fill("#id_description", "kept description")
        page.click("button:has-text('Upload')")
        expect(page.locator("#id_title_error")).to_have_text("You already have a document with this title.")
        expect(page.locator("#id_description")).to_have_value("kept description")

        choose_file(page, "notes.txt", b"some words\n")
        page.fill("#id_title", "Plain upload")
        page.click("button:has-text('Upload')")
        expect(page.locator("h1")).to_have_text("Plain upload")
        page.click("text=Edit title")
        expect(page.locator("h1")).to_have_text("Edit “Plain upload”")

        page.goto(f"{live_server.url}/documents/?q=plain")
        expect(page.locator("#cards .card")).to_have_count(1)
        page.goto(f"{live_server.url}/notifications/")
        page.click("button:has-text('Mark all as read')")
        expect(page.locator(".flash")).to_have_text("Marked 1 notification as read.")
    finally:
        context.close()
