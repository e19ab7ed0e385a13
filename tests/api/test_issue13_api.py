"""Issue 13 in the API: previews in the document output and as images, share links (owner only), bulk actions.
Personas: alice owns, bob is a reader she shared with, carol is an outsider, anonymous has no key."""

import io

import pytest
from django.test import Client
from PIL import Image

from helpers import make_user
from strongbox.accounts.models import AuditEvent
from strongbox.accounts.services import api_key_create
from strongbox.documents import bulk
from strongbox.documents.models import Document
from strongbox.sharing import services
from strongbox.sharing.models import ShareLink

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents"
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
JSON = "application/json"


@pytest.fixture
def shared(uploaded, alice, bob, django_capture_on_commit_callbacks):
    """alice's PDF (its preview rendered), shared with bob as a reader."""
    document = uploaded("pdf", title="Report", tags="work")
    with django_capture_on_commit_callbacks(execute=True):
        services.share_create(document=document, actor=alice, recipient="bob")
    document.refresh_from_db()
    return document


@pytest.fixture
def carol_api(db, password_hash) -> Client:
    carol = make_user("carol", password_hash)
    return Client(headers={"Authorization": f"Bearer {api_key_create(user=carol, name='c', scope='write')[1]}"})


def image_of(response) -> Image.Image:
    # Read, not closed: closing a test response sends request_finished, which closes the database connections.
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Image.open(io.BytesIO(body))


def assert_same_404(theirs, missing):
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() and theirs.json()["code"] == "not_found"


# ---------- previews ----------

def test_it_shows_the_preview_fields_in_the_detail_and_the_list(shared, alice_api):
    assert shared.preview_status == "ready" and shared.preview_pages == 1
    detail = alice_api.get(f"{BASE}/{shared.public_id}").json()
    key = shared.preview_key
    assert detail["preview_status"] == "ready" and detail["text_source"] == "layer"
    assert detail["page_count"] == 1
    assert detail["thumbnail_url"] == f"{BASE}/{shared.public_id}/preview/0?v={key}"
    assert detail["preview_page_urls"] == [f"{BASE}/{shared.public_id}/preview/1?v={key}"]
    listed = alice_api.get(BASE).json()["results"][0]
    assert {name: listed[name] for name in detail if name != "shared"} == {
        name: value for name, value in detail.items() if name != "shared"}


def test_it_has_no_image_urls_while_no_preview_is_ready(shared, alice_api):
    Document.objects.filter(pk=shared.pk).update(preview_status="pending", preview_key="", preview_pages=0)
    from strongbox.documents import cache
    cache.bump(shared.owner_id)
    body = alice_api.get(f"{BASE}/{shared.public_id}").json()
    assert body["preview_status"] == "pending"
    assert body["thumbnail_url"] is None and body["preview_page_urls"] == []
    assert alice_api.get(f"{BASE}/{shared.public_id}/preview/0").status_code == 404


def test_it_serves_the_thumbnail_and_the_page_images(shared, alice_api):
    body = alice_api.get(f"{BASE}/{shared.public_id}").json()
    thumbnail = alice_api.get(body["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"
    small = image_of(thumbnail)
    assert small.format == "WEBP"
    page = alice_api.get(body["preview_page_urls"][0])
    assert page.status_code == 200 and page["Content-Type"] == "image/webp"
    assert image_of(page).width > small.width
    again = alice_api.get(body["thumbnail_url"], headers={"If-None-Match": thumbnail["ETag"]})
    assert again.status_code == 304


def test_it_answers_404_for_a_page_beyond_the_preview(shared, alice_api):
    response = alice_api.get(f"{BASE}/{shared.public_id}/preview/2")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert alice_api.get(f"{BASE}/{shared.public_id}/preview/-1").status_code in (400, 404)


def test_it_serves_the_preview_to_a_user_it_is_shared_with(shared, bob_api):
    response = bob_api.get(f"{BASE}/{shared.public_id}/preview/1")
    assert response.status_code == 200 and image_of(response).format == "WEBP"


def test_it_answers_an_outsider_like_a_missing_document_for_a_preview(shared, carol_api):
    assert_same_404(carol_api.get(f"{BASE}/{shared.public_id}/preview/0"),
                    carol_api.get(f"{BASE}/{MISSING}/preview/0"))


def test_it_refuses_anonymous_previews(shared):
    assert Client().get(f"{BASE}/{shared.public_id}/preview/0").status_code == 401


# ---------- share links ----------

def test_it_creates_lists_and_revokes_a_link(shared, alice_api, anonymous_client):
    created = alice_api.post(f"{BASE}/{shared.public_id}/links", {"expires_days": 7, "password": "s3cret"},
                             content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["has_password"] is True and body["download_count"] == 0
    assert "/s/" in body["url"] and body["url"].startswith("http")
    link = ShareLink.objects.get()
    assert body["url"].rstrip("/").rsplit("/", 1)[1] not in link.token_hash
    assert round((link.expires_at - link.created_at).total_seconds() / 86400) == 7
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LINK_CREATED).exists()
    listed = alice_api.get(f"{BASE}/{shared.public_id}/links")
    assert listed.status_code == 200
    assert listed.json() == [{name: value for name, value in body.items() if name != "url"}]
    assert "url" not in listed.json()[0] and "token" not in listed.content.decode()
    path = body["url"].split("testserver", 1)[1]
    assert anonymous_client.get(path).status_code == 200
    revoked = alice_api.delete(f"{BASE}/{shared.public_id}/links/{body['id']}")
    assert revoked.status_code == 204
    assert alice_api.get(f"{BASE}/{shared.public_id}/links").json() == []
    assert anonymous_client.get(path).status_code == 404
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LINK_REVOKED).count() == 1


def test_it_creates_a_link_without_a_password(shared, alice_api):
    created = alice_api.post(f"{BASE}/{shared.public_id}/links", {"expires_days": 1}, content_type=JSON)
    assert created.status_code == 201 and created.json()["has_password"] is False


@pytest.mark.parametrize(("payload", "field"), [
    ({"expires_days": 3}, "expires_days"),
    ({"expires_days": 0}, "expires_days"),
    ({}, "expires_days"),
    ({"expires_days": "7"}, "expires_days"),
    ({"expires_days": 7, "password": "x" * 129}, "password"),
    ({"expires_days": 7, "token": "mine"}, "token"),
])
def test_it_refuses_an_invalid_link(shared, alice_api, payload, field):
    response = alice_api.post(f"{BASE}/{shared.public_id}/links", payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not ShareLink.objects.exists()


def test_it_answers_404_for_a_missing_link(shared, alice_api):
    for link_id in (12345, 2**63 - 1):
        assert alice_api.delete(f"{BASE}/{shared.public_id}/links/{link_id}").status_code == 404


def test_it_refuses_links_to_a_reader_it_is_shared_with(shared, bob_api, alice):
    link, _ = services.link_create(document=shared, actor=alice, days=1)
    for response in (bob_api.get(f"{BASE}/{shared.public_id}/links"),
                     bob_api.post(f"{BASE}/{shared.public_id}/links", {"expires_days": 1}, content_type=JSON),
                     bob_api.delete(f"{BASE}/{shared.public_id}/links/{link.pk}")):
        assert response.status_code == 403 and response.json()["code"] == "not_permitted"
    assert ShareLink.objects.filter(revoked_at__isnull=True).count() == 1


def test_it_answers_an_outsider_like_a_missing_document_for_links(shared, carol_api, alice):
    link, _ = services.link_create(document=shared, actor=alice, days=1)
    for method, path, data in (("get", "links", None), ("post", "links", {"expires_days": 1}),
                               ("delete", f"links/{link.pk}", None)):
        kwargs = {"data": data, "content_type": JSON} if data else {}
        assert_same_404(getattr(carol_api, method)(f"{BASE}/{shared.public_id}/{path}", **kwargs),
                        getattr(carol_api, method)(f"{BASE}/{MISSING}/{path}", **kwargs))
    assert ShareLink.objects.filter(revoked_at__isnull=True).count() == 1


def test_it_refuses_anonymous_links(shared):
    client = Client()
    assert client.get(f"{BASE}/{shared.public_id}/links").status_code == 401
    assert client.post(f"{BASE}/{shared.public_id}/links", {"expires_days": 1},
                       content_type=JSON).status_code == 401
    assert client.delete(f"{BASE}/{shared.public_id}/links/1").status_code == 401


# ---------- bulk actions ----------

@pytest.fixture
def three(uploaded):
    return [uploaded("txt", title=f"Note {i}") for i in range(3)]


def post_bulk(client, **payload):
    return client.post(f"{BASE}/bulk", payload, content_type=JSON)


def test_it_tags_and_untags_many_documents(three, alice_api):
    ids = [d.public_id for d in three]
    response = post_bulk(alice_api, action="tag", ids=ids, tag="urgent")
    assert response.status_code == 200 and response.json() == {"changed": 3}
    assert post_bulk(alice_api, action="tag", ids=ids, tag="urgent").json() == {"changed": 0}
    assert all("urgent" in alice_api.get(f"{BASE}/{i}").json()["tags"] for i in ids)
    assert post_bulk(alice_api, action="untag", ids=ids[:2], tag="urgent").json() == {"changed": 2}
    assert ["urgent" in alice_api.get(f"{BASE}/{i}").json()["tags"] for i in ids] == [False, False, True]


def test_it_changes_the_category_and_moves_to_the_trash(three, alice_api):
    ids = [d.public_id for d in three]
    assert post_bulk(alice_api, action="category", ids=ids, category="invoice").json() == {"changed": 3}
    assert {alice_api.get(f"{BASE}/{i}").json()["category"] for i in ids} == {"invoice"}
    assert post_bulk(alice_api, action="trash", ids=ids[:2]).json() == {"changed": 2}
    assert alice_api.get(BASE).json()["count"] == 1


def test_it_ignores_others_shared_and_missing_ids(shared, three, bob_api, bob):
    from helpers import make_documents

    (own,) = make_documents(bob, 1)
    ids = [shared.public_id, MISSING, three[0].public_id, own.public_id]
    assert post_bulk(bob_api, action="tag", ids=ids, tag="mine").json() == {"changed": 1}
    assert post_bulk(bob_api, action="trash", ids=ids).json() == {"changed": 1}
    assert Document.objects.filter(pk__in=[shared.pk, three[0].pk]).count() == 2
    assert not shared.tags.filter(name="mine").exists()


def test_it_refuses_more_than_the_maximum_of_documents(three, alice_api):
    ids = [f"id{i}" for i in range(bulk.MAX_DOCUMENTS + 1)]
    response = post_bulk(alice_api, action="tag", ids=ids, tag="x")
    assert response.status_code == 400 and response.json()["code"] == "too_many_documents"


@pytest.mark.parametrize(("payload", "field"), [
    ({"action": "tag"}, "tag"),
    ({"action": "tag", "tag": "   "}, "tag"),
    ({"action": "untag", "tag": "x" * 60}, "tag"),
    ({"action": "category", "category": "nonsense"}, "category"),
    ({"action": "category"}, "category"),
    ({"action": "tag", "tag": "a\x00b"}, "tag"),
    ({"action": "explode"}, "action"),
    ({"action": "tag", "tag": "x", "all": True}, "all"),
])
def test_it_refuses_an_invalid_bulk_action(three, alice_api, payload, field):
    response = post_bulk(alice_api, ids=[three[0].public_id], **payload)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert alice_api.get(f"{BASE}/{three[0].public_id}").json()["category"] == "other"


def test_it_refuses_malformed_ids(three, alice_api):
    response = post_bulk(alice_api, action="trash", ids=["a\x00b"])
    assert response.status_code == 400 and response.json()["errors"][0]["field"].startswith("ids")


def test_it_refuses_anonymous_bulk_actions(three):
    response = post_bulk(Client(), action="trash", ids=[three[0].public_id])
    assert response.status_code == 401
    assert Document.objects.count() == 3


# ---------- shares with users ----------

def test_it_shares_lists_and_revokes(uploaded, alice_api, bob_api, carol_api):
    document = uploaded("txt", title="Plans")
    created = alice_api.post(f"{BASE}/{document.public_id}/shares", {"recipient": "carol", "permission": "edit"},
                             content_type=JSON)
    assert created.status_code == 201, created.content
    assert created.json()["user"] == "carol" and created.json()["permission"] == "edit"
    assert carol_api.get(f"{BASE}/{document.public_id}").json()["shared"] is True
    listed = alice_api.get(f"{BASE}/{document.public_id}/shares").json()
    assert [share["user"] for share in listed] == ["carol"]
    again = alice_api.post(f"{BASE}/{document.public_id}/shares", {"recipient": "carol"}, content_type=JSON)
    assert again.status_code == 409 and again.json()["code"] == "already_shared"
    assert alice_api.delete(f"{BASE}/{document.public_id}/shares/{listed[0]['id']}").status_code == 204
    assert carol_api.get(f"{BASE}/{document.public_id}").status_code == 404
    assert alice_api.delete(f"{BASE}/{document.public_id}/shares/{listed[0]['id']}").status_code == 404


@pytest.mark.parametrize("payload", [{"recipient": "nobody"}, {"recipient": "alice"}, {"recipient": ""},
                                     {"recipient": "a\x00b"}, {"recipient": "bob", "permission": "own"}, {}])
def test_it_refuses_an_invalid_share(uploaded, alice_api, bob, payload):
    document = uploaded("txt", title="Plans")
    response = alice_api.post(f"{BASE}/{document.public_id}/shares", payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request" and response.json()["errors"]


def test_it_refuses_shares_to_a_reader_and_outsiders_and_anonymous(shared, bob_api, carol_api):
    share_id = shared.shares.get().pk
    for response in (bob_api.get(f"{BASE}/{shared.public_id}/shares"),
                     bob_api.post(f"{BASE}/{shared.public_id}/shares", {"recipient": "carol"}, content_type=JSON),
                     bob_api.delete(f"{BASE}/{shared.public_id}/shares/{share_id}")):
        assert response.status_code == 403 and response.json()["code"] == "not_permitted"
    assert_same_404(carol_api.get(f"{BASE}/{shared.public_id}/shares"), carol_api.get(f"{BASE}/{MISSING}/shares"))
    assert_same_404(carol_api.delete(f"{BASE}/{shared.public_id}/shares/{share_id}"),
                    carol_api.delete(f"{BASE}/{MISSING}/shares/{share_id}"))
    assert Client().get(f"{BASE}/{shared.public_id}/shares").status_code == 401
    assert shared.shares.count() == 1
