"""Helpers shared by tests: the personas' password, file-store inspection, form posts."""

import re
import time

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from strongbox.accounts import reauth
from strongbox.accounts.models import User
from strongbox.documents.models import Document

PASSWORD = "correct horse battery staple"


def make_user(username: str, password_hash: str, **extra) -> User:
    return User.objects.create(username=username, email=f"{username}@example.com", password=password_hash, **extra)


def stored_files(storage, *, previews: bool = False) -> list[str]:
    """Return the name of every file in a file store (a local directory or an S3 bucket): the documents' files,
    and with `previews` also their preview images (under "<file>.preview/", documents/previews.py)."""
    if not previews:
        return [name for name in stored_files(storage, previews=True) if ".preview/" not in name]

    def walk(prefix: str):
        directories, files = storage.listdir(prefix)
        for name in files:
            yield f"{prefix}/{name}" if prefix else name
        for name in directories:
            yield from walk(f"{prefix}/{name}" if prefix else name)

    try:
        return sorted(walk(""))
    except FileNotFoundError:  # a local store nothing was ever saved to
        return []


def preview_files(storage) -> list[str]:
    """Return the names of the preview images in a file store."""
    return [name for name in stored_files(storage, previews=True) if ".preview/" in name]


def upload(client, *, filename: str = "notes.txt", content: bytes = b"plain words here\n", **fields):
    """POST the upload form with sensible defaults for the fields not given."""
    data = {"title": "Notes", "description": "", "category": "other", "tags": "",
            "file": SimpleUploadedFile(filename, content)}
    data.update(fields)
    return client.post(reverse("documents:upload"), data)


def make_documents(owner, count: int, **fields) -> list[Document]:
    """Create `count` rows titled Doc 000, Doc 001, … without files (enough for lists and pagination)."""
    return Document.objects.bulk_create([
        Document(owner=owner, title=f"Doc {i:03}", file=f"documents/x/{owner.pk}-{i}", original_filename="a.txt",
                 extension="txt", content_type="text/plain", size=i + 1, sha256="0" * 64, **fields)
        for i in range(count)
    ])


def forget_cached_pages() -> None:
    """Empty the cache, so the next list or search request reads the database instead of being answered from a
    page cached under an unchanged documents version (for tests of where reads go, not of the cache)."""
    cache.clear()


def csrf_token(client: Client, path: str = "/documents/upload/") -> str:
    """Return the CSRF token a page's form carries, as a browser would read it."""
    page = client.get(path)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def recently_authenticated(client: Client, seconds_ago: int = 0) -> Client:
    """Mark the client's session as having re-entered its password `seconds_ago` seconds ago."""
    session = client.session
    session[reauth.RECENT_AUTH] = int(time.time()) - seconds_ago
    session.save()
    return client


def wait_until_redis_is_trusted(timeout: float = 10) -> None:
    """After an outage the cache skips Redis for a few seconds, then one probe closes its breaker (ops/cache.py)."""
    deadline = time.monotonic() + timeout
    while not cache.available:
        assert time.monotonic() < deadline, "the cache did not use Redis again"
        cache.get("probe")
        time.sleep(0.05)


def browser_sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login page in a Playwright page, as a person would."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base_url}/documents/")


def assert_problem(response, status: int, code: str) -> dict:
    """Assert an API answer is an application/problem+json of this status and stable code, with a detail and no
    traceback; return its body."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["detail"]
    assert "Traceback" not in response.content.decode()
    return body
