"""A document's versions through the API: list, upload (the upload's checks), download with Range, restore."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpers import assert_problem, stored_files
from strongbox.documents.models import Document, DocumentVersion

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents"
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
FIRST = b"apricot orchard first draft\n"
SECOND = b"blueberry meadow second draft\n"


@pytest.fixture
def document(alice_api, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_api.post(BASE, {"title": "Plan", "category": "other",
                                        "file": SimpleUploadedFile("plan.txt", FIRST)})
    assert created.status_code == 201, created.content
    return created.json()


@pytest.fixture
def post_version(alice_api, django_capture_on_commit_callbacks):
    def post(document, content=SECOND, name="plan-v2.txt", client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or alice_api).post(f"{BASE}/{document['id']}/versions",
                                              {"file": SimpleUploadedFile(name, content), **extra})

    return post


def test_it_uploads_a_new_version_and_lists_both(alice_api, document, post_version):
    response = post_version(document)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 2 and body["current"] and body["filename"] == "plan-v2.txt"
    assert body["uploaded_by"] == "alice" and body["size"] == len(SECOND)
    assert response["Location"] == body["content_url"] == f"{BASE}/{document['id']}/versions/2/content"
    listed = alice_api.get(f"{BASE}/{document['id']}/versions").json()
    assert [(v["number"], v["current"], v["filename"]) for v in listed] == [(2, True, "plan-v2.txt"),
                                                                           (1, False, "plan.txt")]
    current = alice_api.get(f"{BASE}/{document['id']}").json()
    assert current["filename"] == "plan-v2.txt" and current["version"] > document["version"]
    assert b"".join(alice_api.get(current["content_url"]).streaming_content) == SECOND
    # Search holds the new version's text.
    assert alice_api.get(BASE, {"q": "blueberry"}).json()["count"] == 1
    assert alice_api.get(BASE, {"q": "apricot"}).json()["count"] == 0


def test_an_old_version_downloads_with_range(alice_api, document, post_version):
    post_version(document)
    url = f"{BASE}/{document['id']}/versions/1/content"
    full = alice_api.get(url)
    assert full.status_code == 200 and b"".join(full.streaming_content) == FIRST
    part = alice_api.get(url, HTTP_RANGE="bytes=8-14")
    assert part.status_code == 206 and b"".join(part.streaming_content) == FIRST[8:15]
    assert alice_api.get(url, HTTP_IF_NONE_MATCH=full["ETag"]).status_code == 304
    beyond = alice_api.get(url, HTTP_RANGE=f"bytes={len(FIRST)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(FIRST)}"
    assert alice_api.get(f"{BASE}/{document['id']}/versions/9/content").status_code == 404


def test_it_restores_an_old_version_as_a_new_one(alice_api, document, post_version,
                                                 django_capture_on_commit_callbacks):
    post_version(document)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(f"{BASE}/{document['id']}/versions/1/restore")
    assert response.status_code == 201, response.content
    assert response.json()["number"] == 3 and response.json()["restored_from"] == 1
    assert alice_api.get(f"{BASE}/{document['id']}").json()["filename"] == "plan.txt"
    assert alice_api.get(BASE, {"q": "apricot"}).json()["count"] == 1
    assert_problem(alice_api.post(f"{BASE}/{document['id']}/versions/7/restore"), 404, "not_found")


@pytest.mark.parametrize(("data", "status", "code"), [
    ({}, 400, "invalid_request"),
    ({"file": SimpleUploadedFile("fake.pdf", b"not a pdf")}, 400, "invalid_request"),
    ({"file": SimpleUploadedFile("empty.txt", b"")}, 400, "invalid_request"),
    ({"file": SimpleUploadedFile("a.txt", SECOND), "title": "x"}, 400, "unknown_field"),
])
def test_it_refuses_what_an_upload_would_refuse(alice_api, document, data, status, code, isolated_storage):
    assert_problem(alice_api.post(f"{BASE}/{document['id']}/versions", data), status, code)
    assert DocumentVersion.objects.count() == 1 and len(stored_files(isolated_storage)) == 1


def test_it_refuses_json_with_415(alice_api, document):
    assert_problem(alice_api.post(f"{BASE}/{document['id']}/versions", {}, content_type="application/json"), 415,
                   "unsupported_media_type")


def test_it_answers_413_over_the_size_limit_and_past_the_quota(alice_api, document, post_version, settings,
                                                               isolated_storage):
    settings.MAX_UPLOAD_SIZE = len(FIRST)
    assert_problem(post_version(document, content=b"x" * (len(FIRST) + 1)), 413, "file_too_large")
    settings.MAX_UPLOAD_SIZE = 10_000
    settings.QUOTA_BYTES = len(FIRST) + len(SECOND) - 1  # the old version counts
    assert_problem(post_version(document), 413, "quota_exceeded")
    assert len(stored_files(isolated_storage)) == 1 and Document.objects.get().original_filename == "plan.txt"


@pytest.mark.parametrize(("method", "suffix"), [("get", "/versions"), ("post", "/versions"),
                                                ("get", "/versions/1/content"), ("post", "/versions/1/restore")])
def test_an_outsider_gets_the_same_404_as_for_a_missing_document(method, suffix, bob_api, document,
                                                                 isolated_storage):
    def call(public_id):
        data = {"file": SimpleUploadedFile("x.txt", SECOND)} if method == "post" else {}
        return getattr(bob_api, method)(f"{BASE}/{public_id}{suffix}", data)

    theirs, missing = call(document["id"]), call(MISSING)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert DocumentVersion.objects.count() == 1 and len(stored_files(isolated_storage)) == 1


@pytest.mark.parametrize(("method", "suffix"), [("get", "/versions"), ("post", "/versions"),
                                                ("get", "/versions/1/content"), ("post", "/versions/1/restore")])
def test_anonymous_callers_get_401(method, suffix, anonymous_client, document):
    assert_problem(getattr(anonymous_client, method)(f"{BASE}/{document['id']}{suffix}"), 401, "not_authenticated")


def test_a_read_only_key_cannot_upload_or_restore_versions(alice_readonly_api, document):
    response = alice_readonly_api.post(f"{BASE}/{document['id']}/versions",
                                       {"file": SimpleUploadedFile("x.txt", SECOND)})
    assert response.status_code == 403
    assert alice_readonly_api.post(f"{BASE}/{document['id']}/versions/1/restore").status_code == 403
    assert alice_readonly_api.get(f"{BASE}/{document['id']}/versions").status_code == 200
