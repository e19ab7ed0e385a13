"""The API's upload without a title: named after the file, made unique, as the web form does (intake.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents"


def create(client, filename="Invoice_2026.txt", content=b"words\n", **fields):
    return client.post(BASE, {"category": "other", "file": SimpleUploadedFile(filename, content), **fields})


def test_it_names_an_upload_without_a_title_after_its_file(alice_api):
    first = create(alice_api)
    second = create(alice_api, filename="invoice 2026.pdf.txt", content=b"other\n")
    third = create(alice_api, title="", content=b"third\n")
    assert first.status_code == second.status_code == third.status_code == 201
    assert first.json()["title"] == "Invoice 2026"
    assert second.json()["title"] == "invoice 2026.pdf"
    assert third.json()["title"] == "Invoice 2026 (2)"


def test_it_keeps_a_given_title_strict(alice_api):
    create(alice_api, title="Lease")
    response = create(alice_api, title="LEASE", content=b"other\n")
    assert response.status_code == 409 and response.json()["code"] == "title_taken"


def test_it_numbers_per_owner(alice_api, bob_api):
    create(bob_api)
    assert create(alice_api).json()["title"] == "Invoice 2026"


def test_it_still_refuses_anonymous_uploads(client):
    assert create(client).status_code == 401
    assert not Document.objects.exists()


def test_the_schema_no_longer_requires_a_title(client):
    body = client.get("/api/v1/openapi.json").json()["paths"][BASE]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"] and "file's name" in schema["properties"]["title"]["description"]
