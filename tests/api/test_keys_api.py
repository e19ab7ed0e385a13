import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.conftest import bearer_client
from helpers import csrf_token, recently_authenticated
from strongbox.accounts.models import ApiKey

pytestmark = pytest.mark.django_db
KEYS = "/api/v1/keys"


@pytest.fixture
def session(alice) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    recently_authenticated(client)
    client.defaults["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def test_it_needs_the_password_typed_recently_to_create_a_key(session):
    recently_authenticated(session, seconds_ago=600)
    response = session.post(KEYS, {"name": "scanner", "scope": "read"}, content_type="application/json")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "reauthentication_required"
    assert "/accounts/reauth/" in response.json()["detail"]
    assert not ApiKey.objects.exists()
    assert session.get(KEYS).status_code == 200  # listing needs no fresh password


def test_it_creates_a_key_shown_once_and_usable(session):
    response = session.post(KEYS, {"name": "scanner", "scope": "read"}, content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    assert re.fullmatch(r"sbx_[0-9a-f]{8}_[\w-]{40,}", created["key"])
    assert created["prefix"] == created["key"].split("_")[1] and created["scope"] == "read"
    listed = session.get(KEYS).json()
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    assert created["key"] not in session.get(KEYS).content.decode()
    assert ApiKey.objects.get().key_hash != created["key"]
    assert bearer_client(created["key"]).get("/api/v1/me").status_code == 200


def test_it_revokes_a_key(session):
    created = session.post(KEYS, {"name": "x", "scope": "write"}, content_type="application/json").json()
    assert session.delete(f"{KEYS}/{created['id']}").status_code == 204
    assert session.get(KEYS).json()[0]["revoked"] is True
    assert bearer_client(created["key"]).get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("body", [{"name": "", "scope": "read"}, {"name": "x", "scope": "admin"},
                                  {"name": "x"}, {"name": "x", "scope": "read", "user": 2},
                                  {"name": "x", "scope": "read", "expires_at": "2000-01-01T00:00:00Z"}])
def test_it_rejects_invalid_key_requests(session, body):
    response = session.post(KEYS, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"
    assert not ApiKey.objects.exists()


def test_it_accepts_an_expiry_in_the_future(session):
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    response = session.post(KEYS, {"name": "x", "scope": "read", "expires_at": expires},
                            content_type="application/json")
    assert response.status_code == 201 and response.json()["expires_at"]


def test_keys_cannot_manage_keys(alice_api):
    for response in (alice_api.get(KEYS), alice_api.post(KEYS, {"name": "x", "scope": "write"},
                                                         content_type="application/json")):
        assert response.status_code == 403 and response.json()["code"] == "session_required"


def test_it_needs_csrf_and_a_session(alice, anonymous_client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(KEYS, {"name": "x", "scope": "read"}, content_type="application/json").status_code == 403
    assert anonymous_client.get(KEYS).status_code == 401


def test_an_outsider_cannot_revoke_someone_elses_key(session, bob):
    created = session.post(KEYS, {"name": "x", "scope": "read"}, content_type="application/json").json()
    other = Client(enforce_csrf_checks=True)
    other.force_login(bob)
    response = other.delete(f"{KEYS}/{created['id']}", headers={"X-CSRFToken": csrf_token(other)})
    assert response.status_code == 404
    assert ApiKey.objects.get().revoked_at is None
