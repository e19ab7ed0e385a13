"""Personas shared by every test: alice owns documents, bob is another user, anonymous is signed out."""

import uuid

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.files.storage import storages
from django.test import Client

from helpers import PASSWORD, make_user, upload
from samples import SAMPLES
from strongbox.documents.models import Document


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit and lockout counters live in the cache: start every test with none, and with Redis trusted (an
    outage an earlier test caused would otherwise end in the middle of this one, taking its counts along)."""
    if hasattr(cache, "available"):
        from helpers import wait_until_redis_is_trusted

        wait_until_redis_is_trusted()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def password_hash():
    # Argon2 is slow on purpose; hash the shared test password once per run.
    return make_password(PASSWORD)


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Give each test its own file store (a directory, or a prefix in the S3 bucket), so tests can assert exactly
    which files exist. Return the store."""
    if settings.STORAGE == "s3":
        files = settings.STORAGES["default"]
        options = {**files["OPTIONS"], "location": f"tests/{tmp_path.name}-{uuid.uuid4().hex}"}
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "shared_s3.SharedClientS3Storage", "OPTIONS": options}}
    else:
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "files"}}}
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return storages["default"]


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


if settings.SCALE_OUT_RUN:

    @pytest.fixture(scope="session")
    def django_db_setup(django_db_setup, django_db_blocker):
        """Point the replica alias, a test mirror of the primary until now, at the streaming replica, which has
        received the test database from the primary."""
        from django.db import connections

        from services import session

        replica = connections["replica1"]
        replica.close()
        replica.settings_dict = {**connections["default"].settings_dict, "PORT": session.postgres.replica.port}
        yield

    def pytest_collection_modifyitems(items):
        # Reads of tests outside a transaction (live servers, transactional tests) are routed to the replica:
        # let every database test use every alias.
        for item in items:
            marker = item.get_closest_marker("django_db")
            if marker is None and not {"db", "transactional_db", "live_server"} & set(item.fixturenames):
                continue
            kwargs = dict(marker.kwargs) if marker else {}
            kwargs["databases"] = "__all__"
            item.add_marker(pytest.mark.django_db(*(marker.args if marker else ()), **kwargs), append=False)
