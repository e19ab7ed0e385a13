"""JSON answers carry ETags: a repeated GET answers 304 without a body until the data changes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from samples import SAMPLES
from strongbox.documents import services
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db
API = "/api/v1/documents"


def test_a_json_answer_revalidates_with_its_etag_and_changes_after_a_write(alice_api, uploaded,
                                                                          django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Lease")
    first = alice_api.get("/api/v1/documents")
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    again = alice_api.get("/api/v1/documents", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""

    # The list's ETag is its cache entry's: it names the user's documents version, which every write through the
    # services moves on (once the write commits).
    with django_capture_on_commit_callbacks(execute=True):
        services.document_update(document=document, title="Lease 2")
    changed = alice_api.get("/api/v1/documents", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag and b"Lease 2" in changed.content


def test_the_etag_changes_when_the_text_status_does(alice_api):
    # A client polling for the extracted text must see it arrive, not a 304 forever.
    filename, content, _ = SAMPLES["md"]
    created = alice_api.post(API, {"title": "Notes", "category": "other",
                                  "file": SimpleUploadedFile(filename, content)})
    assert created.status_code == 201 and created.json()["text_status"] == "pending"
    url, etag = created["Location"], created["ETag"]
    assert alice_api.get(url, headers={"If-None-Match": etag}).status_code == 304

    services.document_extract_text(document_id=Document.objects.get().pk)
    polled = alice_api.get(url, headers={"If-None-Match": etag})
    assert polled.status_code == 200 and polled.json()["text_status"] == "ready"
    assert polled["ETag"] != etag
    assert alice_api.get(url, headers={"If-None-Match": polled["ETag"]}).status_code == 304
