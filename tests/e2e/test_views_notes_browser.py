"""Saved views, notes and the user's own categories in a real browser, at desktop (1280) and phone (390) widths,
with JavaScript and without."""

import re

import pytest
from playwright.sync_api import expect

from helpers import browser_sign_in
from strongbox.documents.models import Document, Note, SavedView, UserCategory

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(WIDTHS))
def width(request) -> str:
    return request.param


@pytest.fixture
def page(browser, live_server, user, watch, width):
    context = browser.new_context(viewport=WIDTHS[width], is_mobile=width == "phone")
    context.set_default_timeout(10_000)
    page = watch.attach(context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    yield page
    context.close()


@pytest.fixture
def no_script_page(browser, live_server, user):
    context = browser.new_context(viewport=WIDTHS["phone"], java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    browser_sign_in(page, live_server.url, user.username)
    yield page
    context.close()


def open_filters(page):
    """Open the list's "Filter and sort" panel (it is open already when a filter is set)."""
    if page.locator("form.filters details[open]").count() == 0:
        page.click("summary:has-text('Filter and sort')")


def no_horizontal_overflow(page):
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


def test_it_saves_a_view_and_opens_it_from_the_sidebar(page, live_server, documents, user, width, screenshot):
    invoices = documents(["Invoice March", "Invoice April", "Letter to the bank"])
    Document.objects.filter(pk__in=[invoices[0].pk, invoices[1].pk]).update(category="invoice")
    page.goto(f"{live_server.url}/documents/?category=invoice&sort=title")
    open_filters(page)
    page.fill("#id_view_name", "Invoices by title")
    page.click("button:has-text('Save view')")
    page.wait_for_url(re.compile(r"/documents/\?category=invoice&sort=title$"))
    expect(page.locator(".flash")).to_contain_text("Saved the view “Invoices by title”.")
    assert SavedView.objects.get(owner=user).filters == {"category": "invoice", "sort": "title"}

    page.goto(f"{live_server.url}/documents/")
    expect(page.locator(".card")).to_have_count(3)
    link = page.locator("#saved-views a", has_text="Invoices by title")
    expect(link).to_be_visible()
    no_horizontal_overflow(page)
    screenshot(page, f"saved-views-list-{width}")
    link.click()
    page.wait_for_url(re.compile(r"category=invoice"))
    expect(page.locator(".card h2")).to_have_text(["Invoice April", "Invoice March"])
    expect(page.locator("#saved-views a[aria-current=page]")).to_have_text("Invoices by title")


def test_a_duplicate_view_name_is_refused_with_a_message(page, live_server, documents, user):
    documents(["One"])
    SavedView.objects.create(owner=user, name="Mine")
    page.goto(f"{live_server.url}/documents/?sort=title")
    open_filters(page)
    page.fill("#id_view_name", "MINE")
    page.press("#id_view_name", "Enter")
    expect(page.locator(".error.banner")).to_contain_text("You already have a view named “MINE”")
    page.fill("#id_name", "Mine by title")
    page.click("button:has-text('Save view')")
    page.wait_for_url(re.compile(r"/documents/\?sort=title$"))
    assert SavedView.objects.filter(owner=user).count() == 2


def test_it_adds_a_note_and_finds_the_document_by_its_words(page, live_server, documents, width, screenshot):
    lease, _ = documents(["Lease", "Other"])
    page.goto(f"{live_server.url}/documents/{lease.public_id}/")
    page.fill("#id_note_body", "The landlord promised a quokka-proof fence.")
    page.click("button:has-text('Add note')")
    expect(page.locator(".note-body")).to_have_text(["The landlord promised a quokka-proof fence."])
    expect(page.locator("#id_note_body")).to_have_value("")  # swapped in place, ready for the next one
    no_horizontal_overflow(page)
    screenshot(page, f"notes-detail-{width}")
    page.goto(f"{live_server.url}/documents/")
    page.fill("#id_q", "quokka")
    page.press("#id_q", "Enter")
    page.wait_for_url(re.compile(r"q=quokka"))
    expect(page.locator(".card h2")).to_have_text(["Lease"])
    expect(page.locator(".card .snippet mark")).to_have_text(["quokka"])


def test_an_empty_note_is_refused_in_place(page, live_server, documents):
    lease, = documents(["Lease"])
    page.goto(f"{live_server.url}/documents/{lease.public_id}/")
    page.click("button:has-text('Add note')")
    expect(page.locator("#id_note_body_error")).to_have_text("Write something first.")
    assert not Note.objects.exists()


def test_it_adds_a_category_and_files_a_document_under_it(page, live_server, documents, user, width):
    lease, = documents(["Lease"])
    page.goto(f"{live_server.url}/documents/categories/")
    page.fill("#id_name", "Tax return")
    page.click("button:has-text('Add category')")
    expect(page.locator("#own-categories")).to_contain_text("Tax return")
    no_horizontal_overflow(page)
    page.goto(f"{live_server.url}/documents/{lease.public_id}/edit/")
    page.select_option("#id_category", label="Tax return")
    page.click("button:has-text('Save')")
    expect(page.locator(".detail .badge")).to_have_text("Tax return")
    page.goto(f"{live_server.url}/documents/")
    page.locator(".sidebar-categories a", has_text="Tax return").click()
    page.wait_for_url(re.compile(r"category=tax-return"))
    expect(page.locator(".card h2")).to_have_text(["Lease"])
    assert UserCategory.objects.get(owner=user).slug == "tax-return"


def test_views_and_notes_work_without_javascript(no_script_page, live_server, documents, user):
    page = no_script_page
    lease, = documents(["Lease"])
    page.goto(f"{live_server.url}/documents/?q=lease")
    open_filters(page)
    page.fill("#id_view_name", "Leases")
    page.click("button:has-text('Save view')")
    page.wait_for_url(re.compile(r"/documents/\?q=lease$"))
    expect(page.locator("#saved-views a")).to_have_text(["Leases"])
    page.goto(f"{live_server.url}/documents/{lease.public_id}/")
    page.fill("#id_note_body", "Posted without script")
    page.click("button:has-text('Add note')")
    page.wait_for_url(re.compile(r"#notes$"))
    expect(page.locator(".note-body")).to_have_text(["Posted without script"])
    page.click(".note a:has-text('Delete')")
    page.click("button:has-text('Delete note')")
    expect(page.locator(".flash")).to_have_text("Note deleted.")
    assert not Note.objects.exists()
    assert SavedView.objects.get(owner=user).filters == {"q": "lease"}
