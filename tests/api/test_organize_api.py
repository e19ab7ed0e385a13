"""The API's saved views, notes and categories: same rules as the pages, problem+json errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from commits import committed
from helpers import assert_problem
from strongbox.documents import categories
from strongbox.documents.models import Document, Note, SavedView, UserCategory

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def document(alice_api) -> dict:
    with committed():
        response = alice_api.post("/api/v1/documents", {"title": "Lease", "category": "other",
                                                        "file": SimpleUploadedFile("a.txt", b"plain words\n")})
    assert response.status_code == 201, response.content
    return response.json()


# ---- saved views -------------------------------------------------------------------------------------------------


def test_it_creates_lists_and_deletes_saved_views(alice_api, alice):
    with committed():
        response = alice_api.post("/api/v1/saved-views", {"name": "Unpaid", "filters": {
            "q": "invoice", "category": "invoice", "date_from": "2026-01-01", "sort": "-created"}}, content_type=JSON)
    assert response.status_code == 201, response.content
    view = response.json()
    assert view["name"] == "Unpaid"
    assert view["filters"] == {"q": "invoice", "category": "invoice", "date_from": "2026-01-01", "sort": "-created"}
    assert view["url"] == "/documents/?q=invoice&category=invoice&date_from=2026-01-01&sort=-created"
    assert response["Location"] == f"/api/v1/saved-views/{view['id']}"
    assert alice_api.get(f"/api/v1/saved-views/{view['id']}").json() == view
    assert alice_api.get("/api/v1/saved-views").json() == [view]
    with committed():
        assert alice_api.delete(f"/api/v1/saved-views/{view['id']}").status_code == 204
    assert not SavedView.objects.exists()


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": ""}, 400, "invalid_request"),
    ({"name": "x" * 61}, 400, "invalid_request"),
    ({"name": "   "}, 400, "required"),
    ({"name": "V", "filters": {"sort": "password"}}, 400, "invalid_filters"),
    ({"name": "V", "filters": {"category": "nope"}}, 400, "invalid_filters"),
    ({"name": "V", "filters": {"date_from": "2026-02-01", "date_to": "2026-01-01"}}, 400, "invalid_filters"),
    ({"name": "V", "filters": {"date_from": "yesterday"}}, 400, "invalid_request"),
    ({"name": "V", "filters": {"date_from": 0}}, 400, "invalid_request"),
    ({"name": "V", "filters": {"date_to": "2026-13-45"}}, 400, "invalid_filters"),
    ({"name": "V", "filters": {"page": 2}}, 400, "invalid_request"),
    ({"name": "V", "owner": 2}, 400, "invalid_request"),
    ({"name": "taken"}, 409, "name_taken"),
])
def test_it_refuses_invalid_saved_views(alice_api, alice, body, status, code):
    SavedView.objects.create(owner=alice, name="Taken")
    problem = assert_problem(alice_api.post("/api/v1/saved-views", body, content_type=JSON), status, code)
    assert problem.get("errors") or code == "required"
    assert SavedView.objects.count() == 1


def test_it_renames_a_saved_view(alice_api, alice):
    SavedView.objects.create(owner=alice, name="Other")
    view = SavedView.objects.create(owner=alice, name="Mine", filters={"tag": "bank"})
    url = f"/api/v1/saved-views/{view.pk}"
    with committed():
        renamed = alice_api.patch(url, {"name": "Bank"}, content_type=JSON)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Bank"
    assert renamed.json()["filters"] == {"tag": "bank"}
    assert_problem(alice_api.patch(url, {"name": "OTHER"}, content_type=JSON), 409, "name_taken")
    assert_problem(alice_api.patch(url, {"name": ""}, content_type=JSON), 400, "invalid_request")
    assert_problem(alice_api.patch(url, {"name": "x", "filters": {}}, content_type=JSON), 400, "invalid_request")
    assert_problem(alice_api.patch(url, {"name": "   "}, content_type=JSON), 400, "required")
    view.refresh_from_db()
    assert view.name == "Bank"


def test_saved_views_refuse_anonymous_callers_and_read_only_keys(anonymous_client, alice_readonly_api, alice):
    view = SavedView.objects.create(owner=alice, name="Mine")
    for response in (anonymous_client.get("/api/v1/saved-views"),
                     anonymous_client.post("/api/v1/saved-views", {"name": "x"}, content_type=JSON),
                     anonymous_client.patch(f"/api/v1/saved-views/{view.pk}", {"name": "x"}, content_type=JSON),
                     anonymous_client.delete(f"/api/v1/saved-views/{view.pk}")):
        assert_problem(response, 401, "not_authenticated")
    assert_problem(alice_readonly_api.delete(f"/api/v1/saved-views/{view.pk}"), 403, "read_only_key")
    assert SavedView.objects.exists()


def test_saved_views_of_others_are_missing(bob_api, alice):
    view = SavedView.objects.create(owner=alice, name="Mine")
    assert bob_api.get("/api/v1/saved-views").json() == []
    for method in ("get", "patch", "delete"):
        theirs = getattr(bob_api, method)(f"/api/v1/saved-views/{view.pk}", {"name": "Hijacked"},
                                          content_type=JSON)
        missing = getattr(bob_api, method)(f"/api/v1/saved-views/{view.pk + 1000}", {"name": "Hijacked"},
                                           content_type=JSON)
        assert_problem(theirs, 404, "not_found")
        assert theirs.content == missing.content
    assert SavedView.objects.get().name == "Mine"


# ---- notes -------------------------------------------------------------------------------------------------------


def test_it_adds_lists_and_deletes_notes_found_by_search(alice_api, document):
    url = f"/api/v1/documents/{document['id']}/notes"
    with committed():
        response = alice_api.post(url, {"body": "Ask about the Zanzibar clause"}, content_type=JSON)
    assert response.status_code == 201, response.content
    note = response.json()
    assert (note["author"], note["body"], note["deletable"]) == ("alice", "Ask about the Zanzibar clause", True)
    assert alice_api.get(url).json() == [note]
    assert [d["title"] for d in alice_api.get("/api/v1/documents", {"q": "zanzibar"}).json()["results"]] == ["Lease"]
    with committed():
        assert alice_api.delete(f"{url}/{note['id']}").status_code == 204
    assert alice_api.get(url).json() == []
    assert alice_api.get("/api/v1/documents", {"q": "zanzibar"}).json()["count"] == 0


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "x" * 4001}, {"body": "  "}, {}, {"body": "x\x00"},
                                  {"body": "x", "author": "bob"}])
def test_it_refuses_invalid_notes(alice_api, document, body):
    response = alice_api.post(f"/api/v1/documents/{document['id']}/notes", body, content_type=JSON)
    assert assert_problem(response, 400, "invalid_request")["errors"]
    assert not Note.objects.exists()


def test_only_its_author_deletes_a_note(alice_api, bob, document):
    note = Note.objects.create(document=Document.objects.get(public_id=document["id"]), author=bob, body="Bob's")
    assert alice_api.get(f"/api/v1/documents/{document['id']}/notes").json()[0]["deletable"] is False
    assert_problem(alice_api.delete(f"/api/v1/documents/{document['id']}/notes/{note.pk}"), 403, "forbidden")
    assert Note.objects.exists()


def test_notes_refuse_anonymous_callers(anonymous_client, document):
    url = f"/api/v1/documents/{document['id']}/notes"
    for response in (anonymous_client.get(url), anonymous_client.post(url, {"body": "x"}, content_type=JSON),
                     anonymous_client.delete(f"{url}/1")):
        assert_problem(response, 401, "not_authenticated")


def test_notes_of_others_documents_are_missing(bob_api, document):
    note = Note.objects.create(document=Document.objects.get(public_id=document["id"]),
                               author=Document.objects.get(public_id=document["id"]).owner, body="Private")
    for method, path in [("get", ""), ("post", ""), ("delete", f"/{note.pk}")]:
        theirs = getattr(bob_api, method)(f"/api/v1/documents/{document['id']}/notes{path}", {"body": "x"},
                                          content_type=JSON)
        missing = getattr(bob_api, method)(f"/api/v1/documents/AAAAAAAAAAAAAAAAAAAAAA/notes{path}", {"body": "x"},
                                           content_type=JSON)
        assert_problem(theirs, 404, "not_found")
        assert theirs.content == missing.content
    assert list(Note.objects.values_list("body", flat=True)) == ["Private"]


def test_a_note_of_another_document_is_missing(alice_api, document, alice):
    other = Document.objects.create(owner=alice, title="Other", file="documents/x/o", original_filename="o.txt",
                                    extension="txt", content_type="text/plain", size=1, sha256="0" * 64)
    note = Note.objects.create(document=other, author=alice, body="On the other")
    assert_problem(alice_api.delete(f"/api/v1/documents/{document['id']}/notes/{note.pk}"), 404, "not_found")
    assert Note.objects.exists()


# ---- categories --------------------------------------------------------------------------------------------------


def test_it_lists_built_in_and_own_categories(alice_api, alice, bob):
    categories.category_create(owner=alice, name="Tax return")
    categories.category_create(owner=bob, name="Bob's")
    listed = alice_api.get("/api/v1/categories").json()
    assert listed[0] == {"slug": "invoice", "name": "Invoice", "built_in": True}
    assert listed[-1] == {"slug": "tax-return", "name": "Tax return", "built_in": False}
    assert "bob-s" not in [c["slug"] for c in listed]


def test_it_creates_renames_and_deletes_a_category_used_by_documents(alice_api, document):
    with committed():
        created = alice_api.post("/api/v1/categories", {"name": "Tax"}, content_type=JSON)
    assert created.status_code == 201 and created.json() == {"slug": "tax", "name": "Tax", "built_in": False}
    with committed():
        patched = alice_api.patch(f"/api/v1/documents/{document['id']}", {"category": "tax"}, content_type=JSON)
    assert patched.status_code == 200 and patched.json()["category"] == "tax"
    assert alice_api.get("/api/v1/documents", {"category": "tax"}).json()["count"] == 1
    with committed():
        renamed = alice_api.patch("/api/v1/categories/tax", {"name": "Taxes"}, content_type=JSON)
    assert renamed.json() == {"slug": "tax", "name": "Taxes", "built_in": False}
    with committed():
        assert alice_api.delete("/api/v1/categories/tax").status_code == 204
    moved = alice_api.get(f"/api/v1/documents/{document['id']}").json()
    assert moved["category"] == "other" and moved["version"] == patched.json()["version"] + 1
    assert_problem(alice_api.get("/api/v1/documents", {"category": "tax"}), 400, "invalid_request")


def test_uploads_accept_own_categories_and_refuse_others(alice_api, bob):
    categories.category_create(owner=bob, name="Secret")
    response = alice_api.post("/api/v1/documents", {"title": "T", "category": "secret",
                                                    "file": SimpleUploadedFile("a.txt", b"words\n")})
    assert assert_problem(response, 400, "invalid_request")["errors"][0]["field"] == "category"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": ""}, 400, "invalid_request"), ({"name": "x" * 41}, 400, "invalid_request"),
    ({"name": " "}, 400, "invalid_request"), ({"name": "Invoice"}, 409, "built_in"),
    ({"name": "TAX"}, 409, "name_taken"), ({"name": "X", "slug": "x"}, 400, "invalid_request"),
])
def test_it_refuses_invalid_categories(alice_api, alice, body, status, code):
    categories.category_create(owner=alice, name="Tax")
    assert_problem(alice_api.post("/api/v1/categories", body, content_type=JSON), status, code)
    assert UserCategory.objects.count() == 1
    categories.category_create(owner=alice, name="Other one")
    if code != "invalid_request" or body.get("name") is not None and "slug" not in body:
        assert_problem(alice_api.patch("/api/v1/categories/other-one", body, content_type=JSON), status, code)
    assert UserCategory.objects.get(slug="other-one").name == "Other one"


def test_categories_refuse_anonymous_callers(anonymous_client, alice):
    categories.category_create(owner=alice, name="Tax")
    for response in (anonymous_client.get("/api/v1/categories"),
                     anonymous_client.post("/api/v1/categories", {"name": "x"}, content_type=JSON),
                     anonymous_client.patch("/api/v1/categories/tax", {"name": "x"}, content_type=JSON),
                     anonymous_client.delete("/api/v1/categories/tax")):
        assert_problem(response, 401, "not_authenticated")
    assert UserCategory.objects.get().name == "Tax"


def test_categories_of_others_are_missing(bob_api, alice):
    categories.category_create(owner=alice, name="Tax")
    for method, body in (("patch", {"name": "Mine"}), ("delete", {})):
        theirs = getattr(bob_api, method)("/api/v1/categories/tax", body, content_type=JSON)
        missing = getattr(bob_api, method)("/api/v1/categories/nope", body, content_type=JSON)
        assert_problem(theirs, 404, "not_found")
        assert theirs.content == missing.content
    assert UserCategory.objects.get().name == "Tax"


def test_the_schema_says_which_categories_are_allowed():
    schema = Client().get("/api/v1/openapi.json").json()
    upload = schema["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]["multipart/form-data"]
    description = upload["schema"]["properties"]["category"]["description"]
    assert "invoice" in description and "GET /api/v1/categories" in description
    for path in ("/api/v1/saved-views", "/api/v1/saved-views/{view_id}", "/api/v1/documents/{document_id}/notes",
                 "/api/v1/documents/{document_id}/notes/{note_id}", "/api/v1/categories", "/api/v1/categories/{slug}"):
        assert path in schema["paths"]
