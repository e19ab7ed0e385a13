"""The trash through the API: DELETE /documents/{id} moves to the trash; /trash lists, restores, purges."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpers import assert_problem, stored_files
from strongbox.accounts.models import AuditEvent
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents"
TRASH = "/api/v1/trash"
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def trashed(alice_api, django_capture_on_commit_callbacks) -> dict:
    """alice's document, created and moved to the trash through the API."""
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_api.post(BASE, {"title": "Lease", "category": "other", "tags": "home",
                                        "file": SimpleUploadedFile("lease.txt", b"tenancy words\n")})
        assert created.status_code == 201, created.content
        assert alice_api.delete(f"{BASE}/{created.json()['id']}").status_code == 204
    return created.json()


def test_a_deleted_document_leaves_the_api_and_appears_in_the_trash(alice_api, trashed, settings):
    assert alice_api.get(f"{BASE}/{trashed['id']}").status_code == 404
    assert alice_api.get(BASE).json()["count"] == 0
    assert alice_api.get(BASE, {"q": "tenancy"}).json()["count"] == 0
    assert alice_api.get("/api/v1/search/suggest", {"q": "lea"}).json() == []
    body = alice_api.get(TRASH).json()
    assert body["count"] == 1 and body["pages"] == 1
    [entry] = body["results"]
    assert entry["id"] == trashed["id"] and entry["title"] == "Lease" and entry["tags"] == ["home"]
    trashed_at = Document.in_trash.get().trashed_at
    assert entry["trashed_at"].startswith(trashed_at.strftime("%Y-%m-%dT%H:%M:%S"))
    purge_at = trashed_at + timedelta(days=settings.TRASH_DAYS)
    assert entry["purge_at"].startswith(purge_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_it_restores_a_document_under_a_free_title(alice_api, trashed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_api.post(BASE, {"title": "lease", "category": "other",
                              "file": SimpleUploadedFile("new.txt", b"other words\n")})
        response = alice_api.post(f"{TRASH}/{trashed['id']}/restore")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Lease (restored)" and response["ETag"] == f'"v{response.json()["version"]}"'
    assert alice_api.get(f"{BASE}/{trashed['id']}").status_code == 200
    assert alice_api.get(BASE, {"q": "tenancy"}).json()["count"] == 1
    assert alice_api.get(TRASH).json()["count"] == 0
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_RESTORED).count() == 1


def test_a_restore_past_the_quota_is_a_413(alice_api, trashed, settings):
    settings.QUOTA_DOCUMENTS = 1
    alice_api.post(BASE, {"title": "Other", "category": "other",
                          "file": SimpleUploadedFile("new.txt", b"other words\n")})
    assert_problem(alice_api.post(f"{TRASH}/{trashed['id']}/restore"), 413, "quota_exceeded")
    assert Document.in_trash.count() == 1


def test_it_purges_one_document_and_its_files(alice_api, trashed, isolated_storage,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"{TRASH}/{trashed['id']}").status_code == 204
    assert stored_files(isolated_storage) == []
    assert alice_api.get(TRASH).json()["count"] == 0
    assert_problem(alice_api.delete(f"{TRASH}/{trashed['id']}"), 404, "not_found")
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_DELETED).count() == 1


def test_it_empties_the_trash(alice_api, trashed, isolated_storage, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(TRASH)
    assert response.status_code == 200 and response.json() == {"purged": 1}
    assert stored_files(isolated_storage) == []
    assert alice_api.delete(TRASH).json() == {"purged": 0}


def test_a_live_document_is_not_in_the_trash(alice_api, trashed):
    alice_api.post(f"{TRASH}/{trashed['id']}/restore")
    assert_problem(alice_api.post(f"{TRASH}/{trashed['id']}/restore"), 404, "not_found")
    assert_problem(alice_api.delete(f"{TRASH}/{trashed['id']}"), 404, "not_found")
    assert alice_api.get(f"{BASE}/{trashed['id']}").status_code == 200


def test_the_trash_list_rejects_bad_paging_with_400(alice_api):
    assert_problem(alice_api.get(TRASH, {"page_size": 0}), 400, "invalid_request")
    assert alice_api.get(TRASH, {"page": 5}).json()["results"] == []


@pytest.mark.parametrize(("method", "suffix"), [("post", "/restore"), ("delete", "")])
def test_an_outsider_gets_the_same_404_as_for_a_missing_document(method, suffix, bob_api, trashed,
                                                                 isolated_storage):
    theirs = getattr(bob_api, method)(f"{TRASH}/{trashed['id']}{suffix}")
    missing = getattr(bob_api, method)(f"{TRASH}/{MISSING}{suffix}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert Document.in_trash.count() == 1 and len(stored_files(isolated_storage)) == 1


def test_an_outsider_sees_and_empties_only_their_own_trash(bob_api, trashed):
    assert bob_api.get(TRASH).json()["count"] == 0
    assert bob_api.delete(TRASH).json() == {"purged": 0}
    assert Document.in_trash.count() == 1


@pytest.mark.parametrize(("method", "path"), [("get", TRASH), ("delete", TRASH),
                                              ("post", f"{TRASH}/{MISSING}/restore"), ("delete", f"{TRASH}/{MISSING}")])
def test_anonymous_callers_get_401(method, path, anonymous_client):
    assert_problem(getattr(anonymous_client, method)(path), 401, "not_authenticated")
