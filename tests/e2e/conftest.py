"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

They skip with a reason when /usr/bin/chromium is missing and fail instead when CI=true. Screenshots of the main
pages land in test-artifacts/ at the repository root (gitignored).
"""

import os
from pathlib import Path

import pytest

from helpers import browser_sign_in, make_user
from strongbox.documents import cache
from strongbox.documents.models import Document, TextStatus
from strongbox.documents.services import document_index

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI must install the chromium Debian package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium to run the browser tests)")
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API runs an event loop in this thread, which Django's ORM takes for async code;
    # the tests only use the ORM between browser calls, never concurrently with them. Module scope keeps the
    # variable from outliving the browser (a later `check --deploy` in a subprocess would inherit it and fail).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def user(transactional_db, password_hash):
    return make_user("carol", password_hash)


@pytest.fixture
def documents(user):
    """Return a function creating the user's documents with these titles (rows and search entries, no files)."""

    def make(titles: list[str]) -> list[Document]:
        rows = Document.objects.bulk_create([
            Document(owner=user, title=title, file=f"documents/x/{user.pk}-{i}", original_filename="a.txt",
                     extension="txt", content_type="text/plain", size=100 + i, sha256="0" * 64,
                     text_status=TextStatus.READY)
            for i, title in enumerate(titles)
        ])
        for row in rows:
            document_index(row)
        cache.bump(user.pk)  # as the services do after every write: cached pages and totals are of the old version
        return rows

    return make


class Watch:
    """What a page reported: console errors and uncaught exceptions."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []

    def attach(self, page):
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        return page

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]


@pytest.fixture
def watch():
    """Collect console errors of every page a test attaches, and fail on CSP violations or script errors."""
    seen = Watch()
    yield seen
    assert seen.csp_violations() == []
    assert seen.page_errors == []


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def signed_in(context, live_server, user, watch):
    """A page signed in as the test user through the login form, on the document list."""
    page = watch.attach(context.new_page())
    browser_sign_in(page, live_server.url, user.username)
    return page


@pytest.fixture(scope="session")
def screenshot():
    """Return a function saving a full-page screenshot as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return save
