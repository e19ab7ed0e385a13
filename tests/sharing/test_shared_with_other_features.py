"""What a user a document is shared with may do with the features built beside sharing: versions (read, never
replace), notes (read; add when they may edit), the trash (the owner's alone), and that they stop seeing it once
the owner moves it to the trash."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from strongbox.documents.models import Document, DocumentVersion, Note
from strongbox.sharing.models import Share

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(uploaded, alice, bob):
    """alice's text document, shared with bob to read."""
    document = uploaded("txt", title="Budget 2027")
    Share.objects.create(document=document, user=bob, can_edit=False)
    return document


def detail(client, document):
    return client.get(reverse("documents:detail", args=[document.public_id]))


def test_it_lets_a_reader_download_the_versions_but_not_upload_or_restore_one(shared, bob_client):
    page = detail(bob_client, shared).content.decode()
    assert "Upload a new version" not in page and ">Restore<" not in page
    download = bob_client.get(reverse("documents:version_download", args=[shared.public_id, 1]))
    assert download.status_code == 200
    upload = bob_client.post(reverse("documents:version_upload", args=[shared.public_id]),
                             {"file": SimpleUploadedFile("v2.txt", b"other words\n")})
    assert upload.status_code == 403
    assert bob_client.post(reverse("documents:version_restore", args=[shared.public_id, 1])).status_code == 403
    assert DocumentVersion.objects.filter(document=shared).count() == 1


def test_it_refuses_a_reader_a_new_version_through_the_api(shared, bob_client):
    response = bob_client.post(f"/api/v1/documents/{shared.public_id}/versions",
                               {"file": SimpleUploadedFile("v2.txt", b"other words\n")})
    assert response.status_code == 403 and response.json()["code"] == "not_permitted"


def test_it_shows_a_reader_the_notes_and_lets_only_an_editor_add_one(shared, alice_client, bob, bob_client):
    Note.objects.create(document=shared, author=shared.owner, body="Ask the bank first")
    assert "Ask the bank first" in detail(bob_client, shared).content.decode()
    add = reverse("documents:note_add", args=[shared.public_id])
    assert bob_client.post(add, {"body": "a reader's note"}).status_code == 404
    Share.objects.filter(user=bob).update(can_edit=True)
    assert bob_client.post(add, {"body": "an editor's note"}).status_code == 302
    assert Note.objects.filter(document=shared, author=bob).exists()


def test_it_keeps_the_trash_the_owners(shared, bob_client, alice_client, django_capture_on_commit_callbacks):
    assert bob_client.post(reverse("documents:delete", args=[shared.public_id])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(reverse("documents:delete", args=[shared.public_id])).status_code == 302
    assert Document.in_trash.filter(pk=shared.pk).exists()
    assert detail(bob_client, shared).status_code == 404
    assert shared.title not in bob_client.get(reverse("documents:list")).content.decode()
    restore = reverse("documents:trash_restore", args=[shared.public_id])
    assert bob_client.post(restore).status_code == 404
