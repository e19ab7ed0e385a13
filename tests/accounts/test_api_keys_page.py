from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpers import recently_authenticated
from strongbox.accounts import reauth
from strongbox.accounts.models import ApiKey
from strongbox.accounts.services import api_key_create

pytestmark = pytest.mark.django_db
KEYS = reverse("accounts:api_keys")


@pytest.fixture
def alice_client(alice_client):
    """alice, who typed her password a moment ago, as creating a key needs."""
    return recently_authenticated(alice_client)


def test_it_asks_for_the_password_again_before_creating_a_key(alice):
    client = Client()
    client.force_login(alice)
    recently_authenticated(client, seconds_ago=reauth.max_age())
    page = client.get(KEYS)
    assert page.status_code == 200 and b"asks for your password again" in page.content
    response = client.post(KEYS, {"name": "scanner", "scope": "write"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:reauth')}?next=%2Faccounts%2Fkeys%2F"
    assert not ApiKey.objects.exists()


def test_it_creates_a_key_and_shows_it_exactly_once(alice_client):
    response = alice_client.post(KEYS, {"name": "scanner", "scope": "write"})
    assert response.status_code == 302 and response["Location"] == KEYS
    page = alice_client.get(KEYS).content.decode()
    key = ApiKey.objects.get()
    assert f"sbx_{key.prefix}_" in page and 'id="new-key"' in page
    again = alice_client.get(KEYS).content.decode()
    assert 'id="new-key"' not in again and f"sbx_{key.prefix}_…" in again
    assert key.scope == "write" and key.expires_at is None


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "", "scope": "read"}, "name", "This field is required."),
    ({"name": "x", "scope": "root"}, "scope", "Select a valid choice."),
    ({"name": "x", "scope": "read", "expires_on": "2001-01-01"}, "expires_on", "Choose a day that has not passed."),
])
def test_it_rejects_invalid_input_with_400_and_keeps_it(alice_client, data, field, message):
    response = alice_client.post(KEYS, {**data, "name": data["name"] or ""})
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert not ApiKey.objects.exists()


def test_it_sets_an_expiry_at_the_end_of_the_chosen_day(alice_client):
    day = timezone.localdate() + timedelta(days=10)
    alice_client.post(KEYS, {"name": "temp", "scope": "read", "expires_on": day.isoformat()})
    assert timezone.localtime(ApiKey.objects.get().expires_at).date() == day


def test_it_asks_before_revoking_and_revokes_on_the_confirming_post(alice_client, alice):
    api_key, _ = api_key_create(user=alice, name="old", scope="read")
    url = reverse("accounts:api_key_revoke", args=[api_key.public_id])
    listing = alice_client.get(KEYS).content.decode()
    assert f'href="{url}"' in listing and 'name="confirm"' not in listing  # the list only links to the question
    question = alice_client.get(url)
    assert question.status_code == 200 and b"Revoke \xe2\x80\x9cold\xe2\x80\x9d" in question.content
    assert b'name="confirm" value="yes"' in question.content and b'class="topbar"' in question.content
    assert ApiKey.objects.get().revoked_at is None
    response = alice_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == KEYS
    assert ApiKey.objects.get().revoked_at is not None
    assert b"Revoked" in alice_client.get(KEYS).content
    assert b"already revoked" in alice_client.get(url).content


def test_a_post_without_the_confirmation_only_asks(alice_client, alice):
    api_key, _ = api_key_create(user=alice, name="old", scope="read")
    url = reverse("accounts:api_key_revoke", args=[api_key.public_id])
    for data in ({}, {"confirm": "no"}):
        response = alice_client.post(url, data)
        assert response.status_code == 200 and b'name="confirm" value="yes"' in response.content
    assert ApiKey.objects.get().revoked_at is None


def test_htmx_gets_the_question_in_place(alice_client, alice):
    api_key, _ = api_key_create(user=alice, name="old", scope="read")
    url = reverse("accounts:api_key_revoke", args=[api_key.public_id])
    fragment = alice_client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and b"<html" not in fragment.content
    assert b'class="revoke-confirm"' in fragment.content
    assert "HX-Request" in fragment["Vary"]


def test_anonymous_users_are_sent_to_sign_in_from_the_question(anonymous_client, alice):
    api_key, _ = api_key_create(user=alice, name="old", scope="read")
    url = reverse("accounts:api_key_revoke", args=[api_key.public_id])
    assert anonymous_client.get(url).status_code == 302
    assert anonymous_client.post(url, {"confirm": "yes"}).status_code == 302
    assert ApiKey.objects.get().revoked_at is None


def test_an_outsider_cannot_see_or_revoke_someone_elses_key(alice, bob_client):
    api_key, _ = api_key_create(user=alice, name="alice's key", scope="read")
    assert b"alice&#39;s key" not in bob_client.get(KEYS).content
    url = reverse("accounts:api_key_revoke", args=[api_key.public_id])
    missing = reverse("accounts:api_key_revoke", args=["doesnotexist"])
    assert bob_client.post(url, {"confirm": "yes"}).status_code == 404
    assert bob_client.get(url).status_code == 404
    assert bob_client.get(missing).content == bob_client.get(url).content
    assert ApiKey.objects.get().revoked_at is None


def test_it_sends_anonymous_users_to_sign_in(anonymous_client):
    assert anonymous_client.get(KEYS).status_code == 302


def test_it_needs_a_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(KEYS, {"name": "x", "scope": "read"}).status_code == 403
    assert not ApiKey.objects.exists()
