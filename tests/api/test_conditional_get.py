"""JSON answers carry ETags: a repeated GET answers 304 without a body until the data changes."""

import pytest

from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db


def test_a_json_answer_revalidates_with_its_etag_and_changes_after_a_write(alice_api, uploaded):
    document = uploaded("txt", title="Lease")
    first = alice_api.get("/api/v1/documents")
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    again = alice_api.get("/api/v1/documents", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""

    Document.objects.filter(pk=document.pk).update(title="Lease 2")
    changed = alice_api.get("/api/v1/documents", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag and b"Lease 2" in changed.content
