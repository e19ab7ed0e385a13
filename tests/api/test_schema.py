"""Property-based tests of the live OpenAPI schema with schemathesis: every operation, with generated valid and
invalid input, never answers 5xx, answers only what the schema declares, and refuses calls without credentials."""

import hashlib

import pytest
import schemathesis

# Imported here, at a shallow stack, rather than lazily by schemathesis deep inside a Hypothesis draw: there,
# pytest's assertion rewriting of the module (schemathesis is a pytest plugin) once hit CPython 3.11's "AST
# constructor recursion depth mismatch" SystemError, which Hypothesis reported as a flaky failure.
import schemathesis.generation.body_overrides  # noqa: F401
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from strongbox.accounts.models import ApiKey
from strongbox.wsgi import application

pytestmark = pytest.mark.django_db


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# A fixed key (its row is created per test below), because schemathesis builds some cases while collecting.
KEY = "sbx_5c4e3a11_schemathesis-fixed-key-for-the-test-database-only"


@schema.auth()
class BearerKey:
    """Tell schemathesis how we authenticate, so its ignored-auth check knows what to strip or spoil."""

    def get(self, case, context):
        return KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def loaded(settings, alice, uploaded):
    settings.API_RATE_LIMIT = settings.API_ANONYMOUS_RATE_LIMIT = 100_000
    settings.ALLOWED_HOSTS = ["*"]
    ApiKey.objects.create(user=alice, name="schemathesis", prefix=KEY.split("_")[1], scope="write",
                          key_hash=hashlib.sha256(KEY.encode()).hexdigest())
    uploaded("txt", title="Seed document")
    # schemathesis calls the WSGI application itself, whose request signals would close the database connection
    # holding this test's transaction; Django's test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema(case, loaded):
    # positive_data_acceptance is left out: a schema cannot say "the file's bytes must match its extension", so
    # generated uploads are rightly refused. Every other built-in check runs, ignored_auth included.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_the_schema_is_served_and_documents_every_resource(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/documents", "/api/v1/documents/{document_id}", "/api/v1/documents/{document_id}/content",
                 "/api/v1/search/suggest", "/api/v1/notifications", "/api/v1/me", "/api/v1/keys"):
        assert path in paths


def test_the_docs_page_uses_only_vendored_assets(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_the_schema_is_cached_for_everyone(client, monkeypatch):
    from strongbox.api import api

    calls = []
    original = api.get_openapi_schema
    monkeypatch.setattr(api, "get_openapi_schema", lambda *a, **k: calls.append(1) or original(*a, **k))
    first, second = client.get("/api/v1/openapi.json"), client.get("/api/v1/openapi.json")
    assert first.json() == second.json() and len(calls) == 1
    assert "max-age=3600" in second["Cache-Control"]


def test_the_upload_schema_says_which_fields_are_required_and_what_category_defaults_to(client):
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/documents"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert operation["requestBody"]["required"] is True
    assert body["required"] == ["file"]  # the title comes from the file's name when left out (documents/intake.py)
    assert body["properties"]["category"]["default"] == "other"
    assert set(body["properties"]) - set(body["required"]) == {"category", "description", "tags", "title"}


def test_every_json_body_schema_lists_its_required_fields(client):
    schema = client.get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "name" in components["KeyCreate"]["required"]
    assert "required" not in components["DocumentPatch"]  # every field of a change is optional
    assert {"id", "title", "category", "version"} <= set(components["DocumentOut"]["required"])
