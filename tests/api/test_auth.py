from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.conftest import bearer_client
from helpers import csrf_token
from strongbox.accounts.models import ApiKey
from strongbox.accounts.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"
DOCS = "/api/v1/documents"



def test_it_denies_anonymous_calls_with_401_and_a_problem(anonymous_client):
    response = anonymous_client.get(DOCS)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer sbx_abcd1234_wrong", "Basic YWxpY2U6eA==", "Bearer "])
def test_it_refuses_unknown_or_malformed_keys(alice_key, header):
    assert Client(headers={"Authorization": header}).get(ME).status_code == 401


def test_it_refuses_a_key_that_differs_only_after_the_prefix(alice_key):
    forged = alice_key[:-2] + ("AA" if not alice_key.endswith("AA") else "BB")
    assert bearer_client(forged).get(ME).status_code == 401


def test_it_refuses_a_revoked_key(alice):
    api_key, key = api_key_create(user=alice, name="old", scope="write")
    api_key_revoke(api_key=api_key, actor=alice)
    assert bearer_client(key).get(ME).status_code == 401


def test_it_refuses_an_expired_key(alice):
    api_key, key = api_key_create(user=alice, name="temp", scope="write",
                                  expires_at=timezone.now() + timedelta(minutes=1))
    assert bearer_client(key).get(ME).status_code == 200
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now())  # as if the minute had passed
    assert bearer_client(key).get(ME).status_code == 401


def test_it_refuses_a_key_of_a_deactivated_user(alice, alice_key):
    alice.is_active = False
    alice.save()
    assert bearer_client(alice_key).get(ME).status_code == 401


def test_it_refuses_keys_in_the_query_string(alice_key):
    response = Client().get(ME, {"api_key": alice_key})
    assert response.status_code == 400 and response.json()["code"] == "key_in_query"


def test_it_records_when_a_key_was_last_used(alice, alice_key):
    assert ApiKey.objects.get().last_used_at is None
    bearer_client(alice_key).get(ME)
    assert ApiKey.objects.get().last_used_at is not None


def test_read_only_keys_can_read_but_not_write(alice_readonly_api):
    assert alice_readonly_api.get(DOCS).status_code == 200
    response = alice_readonly_api.post("/api/v1/notifications/mark-read", {}, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "read_only_key"


def test_a_session_works_and_needs_csrf_for_changes(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(ME).json()["username"] == "alice"
    refused = client.post("/api/v1/notifications/mark-read", {}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    accepted = client.post("/api/v1/notifications/mark-read", {}, content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client)})
    assert accepted.status_code == 200


def test_a_key_needs_no_csrf_token(alice_key):
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {alice_key}"})
    assert client.post("/api/v1/notifications/mark-read", {}, content_type="application/json").status_code == 200


def test_errors_never_carry_a_traceback(alice_api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("strongbox.documents.selectors.document_page", explode)
    response = alice_api.get(DOCS)
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_unknown_methods_and_paths_get_problems(alice_api):
    refused = alice_api.put(ME)
    assert refused.status_code == 405 and refused.json()["code"] == "method_not_allowed"
    assert refused["Allow"] == "GET"
    missing = alice_api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
