import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from documents.races import after_read
from helpers import assert_problem, stored_files
from samples import SAMPLES, png_bytes
from strongbox.accounts.models import AuditEvent
from strongbox.documents import services
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents"


def create(client, *, filename="notes.txt", content=b"plain words here\n", **fields):
    data = {"title": "Notes", "category": "other", "file": SimpleUploadedFile(filename, content), **fields}
    return client.post(BASE, data)


@pytest.fixture
def document(alice_api, django_capture_on_commit_callbacks) -> dict:
    """alice's PDF as the API shows it once its text is extracted."""
    filename, content, _ = SAMPLES["pdf"]
    with django_capture_on_commit_callbacks(execute=True):
        response = create(alice_api, filename=filename, content=content, title="Lease", tags="home, 2026")
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 1 and response.json()["text_status"] == "pending"
    return alice_api.get(f"{BASE}/{response.json()['id']}").json()


def test_it_creates_a_document_from_a_multipart_upload(document, alice_api):
    assert document["title"] == "Lease" and sorted(document["tags"]) == ["2026", "home"]
    assert document["sha256"] == hashlib.sha256(SAMPLES["pdf"][1]).hexdigest()
    # Storing the extracted text is a change too: version 2.
    assert document["content_type"] == "application/pdf" and document["text_status"] == "ready"
    assert document["version"] == 2
    fetched = alice_api.get(f"{BASE}/{document['id']}")
    assert fetched.status_code == 200 and fetched.json()["text_status"] == "ready"


def test_create_answers_201_with_location_and_etag(alice_api):
    response = create(alice_api)
    assert response.status_code == 201
    assert response["Location"] == f"{BASE}/{response.json()['id']}"
    assert response["ETag"] == '"v1"'


def test_create_files_a_document_without_a_category_under_other_as_the_form_does(alice_api):
    data = {"title": "No category given", "file": SimpleUploadedFile("notes.txt", b"plain words here\n")}
    response = alice_api.post(BASE, data)
    assert response.status_code == 201, response.content
    assert response.json()["category"] == "other"
    assert create(alice_api, title="Empty category", category="").json()["category"] == "other"


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"category": "nope"}, 400, "invalid_request"),
    ({"owner": "1"}, 400, "unknown_field"),
    ({"sha256": "0" * 64}, 400, "unknown_field"),
])
def test_create_rejects_bad_and_read_only_fields(alice_api, isolated_storage, fields, status, code):
    assert_problem(create(alice_api, **fields), status, code)
    assert not Document.objects.exists() and stored_files(isolated_storage) == []


def test_create_rejects_content_that_does_not_match_the_extension(alice_api, isolated_storage):
    body = assert_problem(create(alice_api, filename="x.pdf", content=png_bytes()), 400, "invalid_request")
    assert body["errors"][0]["field"] == "file" and "not a PDF" in body["errors"][0]["message"]
    assert stored_files(isolated_storage) == []


def test_create_refuses_json_with_415(alice_api):
    assert_problem(alice_api.post(BASE, {"title": "x"}, content_type="application/json"), 415,
                   "unsupported_media_type")


def test_create_answers_413_for_a_file_over_the_limit(alice_api, settings, isolated_storage):
    settings.MAX_UPLOAD_SIZE = 100
    assert_problem(create(alice_api, content=b"x" * 101), 413, "file_too_large")
    assert stored_files(isolated_storage) == []


def test_create_answers_409_for_a_title_in_use(alice_api, document):
    assert_problem(create(alice_api, title="LEASE"), 409, "title_taken")


def test_create_answers_413_past_the_quota(alice_api, settings):
    settings.QUOTA_BYTES = 5
    assert_problem(create(alice_api), 413, "quota_exceeded")


def test_it_lists_searches_filters_and_paginates(alice_api, document):
    create(alice_api, title="Shopping list", category="personal")
    listed = alice_api.get(BASE).json()
    assert listed["count"] == 2 and [d["title"] for d in listed["results"]] == ["Shopping list", "Lease"]
    assert [d["title"] for d in alice_api.get(BASE, {"q": "zephyr"}).json()["results"]] == ["Lease"]
    assert [d["title"] for d in alice_api.get(BASE, {"category": "personal"}).json()["results"]] == ["Shopping list"]
    assert [d["title"] for d in alice_api.get(BASE, {"tag": "HOME"}).json()["results"]] == ["Lease"]
    assert [d["title"] for d in alice_api.get(BASE, {"ordering": "title"}).json()["results"]] == [
        "Lease", "Shopping list"]
    second = alice_api.get(BASE, {"page_size": 1, "page": 2}).json()
    assert second["pages"] == 2 and [d["title"] for d in second["results"]] == ["Lease"]
    assert alice_api.get(BASE, {"page_size": 1, "page": 3}).json()["results"] == []


@pytest.mark.parametrize("params", [{"page_size": 101}, {"page": 0}, {"ordering": "owner"},
                                    {"uploaded_from": "yesterday"}, {"category": "x"},
                                    {"uploaded_from": "2026-02-01", "uploaded_until": "2026-01-01"}])
def test_list_rejects_bad_parameters_with_400(alice_api, params):
    assert_problem(alice_api.get(BASE, params), 400, "invalid_request")


def test_it_never_shows_another_users_documents(bob_api, document):
    assert bob_api.get(BASE).json()["count"] == 0
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("get", "/content")]:
        theirs = getattr(bob_api, method)(f"{BASE}/{document['id']}{path}", {}, content_type="application/json")
        missing = getattr(bob_api, method)(f"{BASE}/AAAAAAAAAAAAAAAAAAAAAA{path}", {},
                                           content_type="application/json")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content
    assert Document.objects.filter(public_id=document["id"]).exists()


def test_get_answers_304_to_a_matching_etag(alice_api, document):
    response = alice_api.get(f"{BASE}/{document['id']}", headers={"If-None-Match": '"v2"'})
    assert response.status_code == 304 and response["ETag"] == '"v2"'


def test_patch_updates_and_bumps_the_version(alice_api, document):
    response = alice_api.patch(f"{BASE}/{document['id']}", {"title": "Lease 2026", "tags": ["home"]},
                               content_type="application/json", headers={"If-Match": '"v2"'})
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Lease 2026" and response.json()["tags"] == ["home"]
    assert response.json()["version"] == 3 and response["ETag"] == '"v3"'
    assert response.json()["category"] == "other"  # untouched fields keep their values


def test_patch_with_a_stale_etag_gets_412_and_changes_nothing(alice_api, document):
    alice_api.patch(f"{BASE}/{document['id']}", {"title": "First"}, content_type="application/json")
    stale = alice_api.patch(f"{BASE}/{document['id']}", {"title": "Second"}, content_type="application/json",
                            headers={"If-Match": '"v2"'})
    assert_problem(stale, 412, "precondition_failed")
    assert Document.objects.get().title == "First"


@pytest.mark.parametrize("changes", [{"id": "x"}, {"owner": 2}, {"size": 1}, {"sha256": "0"}, {"version": 9},
                                     {"created_at": "2020-01-01T00:00:00Z"}, {"title": ""}, {"title": "x" * 101},
                                     {"category": "weapons"}, {"tags": ["a,b"]}, {"tags": "home"}])
def test_patch_rejects_read_only_unknown_and_invalid_fields(alice_api, document, changes):
    response = alice_api.patch(f"{BASE}/{document['id']}", changes, content_type="application/json")
    assert_problem(response, 400, "invalid_request")
    assert Document.objects.get().version == document["version"]


def test_patch_answers_409_for_a_title_in_use(alice_api, document):
    create(alice_api, title="Other")
    response = alice_api.patch(f"{BASE}/{document['id']}", {"title": "other"}, content_type="application/json")
    assert_problem(response, 409, "title_taken")


def test_delete_honours_if_match(alice_api, document, isolated_storage, django_capture_on_commit_callbacks):
    url = f"{BASE}/{document['id']}"
    assert_problem(alice_api.delete(url, headers={"If-Match": '"v7"'}), 412, "precondition_failed")
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(url, headers={"If-Match": '"v2"'}).status_code == 204
    # In the trash: out of the API's documents, its file kept until it is purged (tests/api/test_trash_api.py).
    assert not Document.objects.exists() and Document.in_trash.exists()
    assert len(stored_files(isolated_storage)) == 1
    assert alice_api.get(url).status_code == 404


def test_patch_changes_only_the_fields_it_sends(alice_api, document, monkeypatch):
    # Another client changes the description between this request reading the document and writing it.
    after_read(monkeypatch, lambda stored: services.document_update(document=stored, description="Countersigned"))
    response = alice_api.patch(f"{BASE}/{document['id']}", {"title": "Lease 2026"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Lease 2026" and response.json()["description"] == "Countersigned"
    assert sorted(response.json()["tags"]) == ["2026", "home"]


@pytest.mark.parametrize(("method", "headers"), [("patch", {}), ("patch", {"If-Match": '"v2"'}),
                                                 ("delete", {}), ("delete", {"If-Match": '"v2"'})])
def test_a_document_deleted_meanwhile_answers_409(alice_api, document, monkeypatch, method, headers):
    after_read(monkeypatch, lambda stored: services.document_delete(document=stored))
    response = getattr(alice_api, method)(f"{BASE}/{document['id']}", {"title": "Lease 2026"},
                                          content_type="application/json", headers=headers)
    assert_problem(response, 409, "document_deleted")
    assert not Document.objects.exists()


def test_delete_is_audited_once(alice_api, document):
    assert alice_api.delete(f"{BASE}/{document['id']}", REMOTE_ADDR="198.51.100.4",
                            HTTP_USER_AGENT="backup-script/1").status_code == 204
    [event] = AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_TRASHED)
    assert event.user.username == "alice" and document["id"] in event.detail and "Lease" in event.detail
    assert (event.ip, event.user_agent) == ("198.51.100.4", "backup-script/1")


def test_content_returns_the_exact_bytes_and_honours_range(alice_api, document):
    url = f"{BASE}/{document['id']}/content"
    content = SAMPLES["pdf"][1]
    full = alice_api.get(url)
    assert full.status_code == 200 and b"".join(full.streaming_content) == content
    assert full["Accept-Ranges"] == "bytes" and full["ETag"] == f'"{document["sha256"]}"'
    part = alice_api.get(url, headers={"Range": "bytes=5-14"})
    assert part.status_code == 206 and b"".join(part.streaming_content) == content[5:15]
    assert part["Content-Range"] == f"bytes 5-14/{len(content)}" and part["Content-Length"] == "10"
    tail = alice_api.get(url, headers={"Range": "bytes=-4"})
    assert b"".join(tail.streaming_content) == content[-4:]
    beyond = alice_api.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(content)}"
    stale = alice_api.get(url, headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert stale.status_code == 200


def test_suggest_returns_titles_for_a_prefix(alice_api, bob_api, document):
    assert alice_api.get("/api/v1/search/suggest", {"q": "lea"}).json() == [{"id": document["id"], "title": "Lease"}]
    assert bob_api.get("/api/v1/search/suggest", {"q": "lea"}).json() == []
    assert_problem(alice_api.get("/api/v1/search/suggest"), 400, "invalid_request")


def test_me_describes_the_caller(alice_api):
    assert alice_api.get("/api/v1/me").json()["username"] == "alice"


def test_notifications_list_count_and_mark_read(alice_api, bob_api, document, django_capture_on_commit_callbacks):
    notes = alice_api.get("/api/v1/notifications").json()
    assert [n["kind"] for n in notes] == ["text_ready"] and notes[0]["document_id"] == document["id"]
    assert alice_api.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    assert bob_api.post("/api/v1/notifications/mark-read", {"ids": [notes[0]["id"]]},
                        content_type="application/json").json() == {"marked": 0}
    with django_capture_on_commit_callbacks(execute=True):  # the count is cached until the write commits
        assert alice_api.post("/api/v1/notifications/mark-read", {}, content_type="application/json").json() == {
            "marked": 1}
    assert alice_api.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
