"""Personas shared by every test: alice owns documents, bob is another user, anonymous is signed out."""

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.test import Client

from helpers import PASSWORD, make_user, upload
from samples import SAMPLES
from strongbox.documents.models import Document


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit and lockout counters live in the cache: start every test with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def password_hash():
    # Argon2 is slow on purpose; hash the shared test password once per run.
    return make_password(PASSWORD)


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Give each test its own file store, so tests can assert exactly which files exist."""
    location = tmp_path / "files"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}}}
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return location


@pytest.fixture
def alice(db, password_hash):
    return make_user("alice", password_hash)


@pytest.fixture
def bob(db, password_hash):
    return make_user("bob", password_hash)


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob):
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def anonymous_client(db):
    return Client()


@pytest.fixture
def uploaded(alice_client, django_capture_on_commit_callbacks):
    """Upload a document as alice (running its background tasks) and return a function that does more."""

    def make(extension: str = "txt", **fields) -> Document:
        filename, content, _ = SAMPLES[extension]
        fields.setdefault("title", f"Sample {extension} {Document.objects.count()}")
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(alice_client, filename=filename, content=content, **fields)
        assert response.status_code == 302, response.content.decode()[:2000]
        return Document.objects.get(title=fields["title"])

    return make
