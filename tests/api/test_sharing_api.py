"""Documents shared with the API's user: listed, found, read and (if editable) changed through the API, never
deleted; `owner` and `shared` in every document; the `shared` filter; outsiders get the missing document's 404."""

import pytest
from django.test import Client

from helpers import make_user
from strongbox.accounts.services import api_key_create
from strongbox.sharing import services
from strongbox.sharing.models import Share

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents"
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def shared(uploaded, alice, bob, django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Road trip", tags="travel")
    with django_capture_on_commit_callbacks(execute=True):
        services.share_create(document=document, actor=alice, recipient="bob")
    return document


@pytest.fixture
def carol_api(db, password_hash) -> Client:
    carol = make_user("carol", password_hash)
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=carol, name='c', scope='write')[1]}"})


def test_the_recipient_lists_it_with_its_owner_and_filters_by_shared(shared, bob_api, bob):
    from helpers import make_documents

    make_documents(bob, 1)
    everything = bob_api.get(BASE).json()
    assert everything["count"] == 2
    theirs = next(d for d in everything["results"] if d["id"] == shared.public_id)
    assert theirs["owner"] == "alice" and theirs["shared"] is True
    assert next(d for d in everything["results"] if d["id"] != shared.public_id)["shared"] is False
    assert [d["id"] for d in bob_api.get(BASE, {"shared": "true"}).json()["results"]] == [shared.public_id]
    assert shared.public_id not in [d["id"] for d in bob_api.get(BASE, {"shared": "false"}).json()["results"]]


def test_the_owner_sees_their_document_as_not_shared(shared, alice_api):
    body = alice_api.get(f"{BASE}/{shared.public_id}").json()
    assert body["owner"] == "alice" and body["shared"] is False
    assert alice_api.get(BASE, {"shared": "true"}).json()["count"] == 0


def test_the_recipient_searches_reads_and_downloads_it(shared, bob_api):
    assert [d["id"] for d in bob_api.get(BASE, {"q": "quokka"}).json()["results"]] == [shared.public_id]
    assert bob_api.get("/api/v1/search/suggest", {"q": "road"}).json() == [{"id": shared.public_id,
                                                                           "title": "Road trip"}]
    detail = bob_api.get(f"{BASE}/{shared.public_id}")
    assert detail.status_code == 200 and detail.json()["shared"] is True
    content = bob_api.get(f"{BASE}/{shared.public_id}/content")
    assert content.status_code == 200 and b"quokka" in b"".join(content.streaming_content)


def test_a_reader_may_not_change_or_delete_it(shared, bob_api):
    patch = bob_api.patch(f"{BASE}/{shared.public_id}", {"title": "Mine"}, content_type="application/json")
    assert patch.status_code == 403 and patch.json()["code"] == "not_permitted"
    delete = bob_api.delete(f"{BASE}/{shared.public_id}")
    assert delete.status_code == 403 and delete.json()["code"] == "not_permitted"
    assert bob_api.get(f"{BASE}/{shared.public_id}").json()["title"] == "Road trip"


def test_an_editor_changes_its_fields_but_may_not_delete_it(shared, bob_api, alice_api):
    Share.objects.update(can_edit=True)
    patch = bob_api.patch(f"{BASE}/{shared.public_id}", {"title": "Road trip 2", "tags": ["travel", "car"]},
                          content_type="application/json")
    assert patch.status_code == 200, patch.content
    assert patch.json()["title"] == "Road trip 2" and patch.json()["shared"] is True
    assert alice_api.get(f"{BASE}/{shared.public_id}").json()["tags"] == ["car", "travel"]
    assert bob_api.delete(f"{BASE}/{shared.public_id}").status_code == 403


@pytest.mark.parametrize(("method", "path"), [("get", "{id}"), ("get", "{id}/content"), ("patch", "{id}"),
                                              ("delete", "{id}")])
def test_an_outsider_gets_the_same_404_as_for_a_missing_document(shared, carol_api, method, path):
    kwargs = {"data": {"title": "x"}, "content_type": "application/json"} if method == "patch" else {}
    theirs = getattr(carol_api, method)(f"{BASE}/{path.format(id=shared.public_id)}", **kwargs)
    missing = getattr(carol_api, method)(f"{BASE}/{path.format(id=MISSING)}", **kwargs)
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()
    assert carol_api.get(BASE, {"q": "quokka"}).json()["count"] == 0


def test_anonymous_clients_get_401(shared):
    assert Client().get(BASE, {"shared": "true"}).status_code == 401


def test_a_bad_shared_filter_is_a_400(bob_api):
    response = bob_api.get(BASE, {"shared": "maybe"})
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
