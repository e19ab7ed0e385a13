"""API keys: one expiry rule for every caller, revocation for good and audited by the service, wherever it is
asked for (the settings page, the API, the admin)."""

from datetime import timedelta

import pytest
from django.contrib.admin import helpers as admin_helpers
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpers import csrf_token, make_user, recently_authenticated
from strongbox.accounts import services
from strongbox.accounts.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db
PAGE = reverse("accounts:api_keys")
API = "/api/v1/keys"


@pytest.fixture
def alice_client(alice_client):
    """alice, who typed her password a moment ago, as creating a key needs."""
    return recently_authenticated(alice_client)


@pytest.fixture
def staff(db, password_hash) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="staff-browser")
    client.force_login(make_user("root", password_hash, is_staff=True, is_superuser=True))
    return client


def test_a_key_stops_working_at_the_instant_it_expires():
    at = timezone.now()
    key = ApiKey(expires_at=at)
    assert not key.is_expired(at - timedelta(microseconds=1))
    assert key.is_expired(at) and not key.is_live(at)
    assert not ApiKey(expires_at=None).is_expired(at)


def test_the_service_refuses_an_expiry_that_has_passed(alice):
    with pytest.raises(services.ExpiryPassed):
        services.api_key_create(user=alice, name="x", scope="read", expires_at=timezone.now())
    assert not ApiKey.objects.exists()


def test_the_page_and_the_api_apply_the_same_rule(alice_client, alice):
    # A key that expires at the end of today is still in the future: both accept it, as both refuse yesterday.
    today, yesterday = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    assert alice_client.post(PAGE, {"name": "today", "scope": "read", "expires_on": today}).status_code == 302
    assert alice_client.post(PAGE, {"name": "old", "scope": "read", "expires_on": yesterday}).status_code == 400
    session = Client(enforce_csrf_checks=True)
    session.force_login(alice)
    recently_authenticated(session)
    headers = {"X-CSRFToken": csrf_token(session)}
    soon = (timezone.now() + timedelta(minutes=1)).isoformat()
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert session.post(API, {"name": "soon", "scope": "read", "expires_at": soon}, content_type="application/json",
                        headers=headers).status_code == 201
    assert session.post(API, {"name": "past", "scope": "read", "expires_at": past}, content_type="application/json",
                        headers=headers).status_code == 400
    assert sorted(ApiKey.objects.values_list("name", flat=True)) == ["soon", "today"]


def test_the_page_shows_a_key_past_its_expiry_as_expired(alice_client, alice):
    api_key, _ = services.api_key_create(user=alice, name="temp", scope="read",
                                         expires_at=timezone.now() + timedelta(minutes=1))
    assert b"Expired" not in alice_client.get(PAGE).content
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now())
    page = alice_client.get(PAGE).content
    assert b"Expired" in page and reverse("accounts:api_key_revoke", args=[api_key.public_id]).encode() not in page


@pytest.mark.parametrize("where", ["page", "api"])
def test_creating_and_revoking_a_key_is_audited_once(alice, where):
    client = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="key-maker")
    client.force_login(alice)
    recently_authenticated(client)
    if where == "page":
        client.post(PAGE, {"name": "scanner", "scope": "read"})
        api_key = ApiKey.objects.get()
        client.post(reverse("accounts:api_key_revoke", args=[api_key.public_id]), {"confirm": "yes"})
        client.post(reverse("accounts:api_key_revoke", args=[api_key.public_id]), {"confirm": "yes"})
    else:
        client.post(API, {"name": "scanner", "scope": "read"}, content_type="application/json")
        api_key = ApiKey.objects.get()
        client.delete(f"{API}/{api_key.public_id}")
        client.delete(f"{API}/{api_key.public_id}")
    events = AuditEvent.objects.filter(kind__in=[AuditEvent.Kind.KEY_CREATED, AuditEvent.Kind.KEY_REVOKED])
    assert sorted(e.kind for e in events) == ["key_created", "key_revoked"]
    for event in events:
        assert (event.user, event.ip, event.user_agent) == (alice, "203.0.113.7", "key-maker")
        assert event.detail == f"scanner ({api_key.prefix})"


def test_the_admin_shows_keys_read_only(staff, alice):
    api_key, _ = services.api_key_create(user=alice, name="scanner", scope="read")
    change = reverse("admin:accounts_apikey_change", args=[api_key.pk])
    page = staff.get(change)
    assert page.status_code == 200 and b'name="revoked_at' not in page.content
    assert staff.post(change, {"name": "renamed", "scope": "write"}).status_code == 403
    assert staff.get(reverse("admin:accounts_apikey_add")).status_code == 403
    assert staff.post(reverse("admin:accounts_apikey_delete", args=[api_key.pk]), {"post": "yes"}).status_code == 403
    stored = ApiKey.objects.get()
    assert (stored.name, stored.scope) == ("scanner", "read")


def test_the_admin_revokes_keys_through_the_service(staff, alice):
    api_key, key = services.api_key_create(user=alice, name="scanner", scope="read")
    response = staff.post(reverse("admin:accounts_apikey_changelist"), {
        "action": "revoke", admin_helpers.ACTION_CHECKBOX_NAME: [str(api_key.pk)]})
    assert response.status_code == 302
    assert ApiKey.objects.get().revoked_at is not None
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/me").status_code == 401
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.KEY_REVOKED)
    assert event.user.username == "root" and event.detail == f"scanner ({api_key.prefix}) of alice"
    assert event.ip == "192.0.2.9"


def test_a_revoked_key_cannot_be_un_revoked(alice):
    api_key, _ = services.api_key_create(user=alice, name="scanner", scope="read")
    stale, older = ApiKey.objects.get(), ApiKey.objects.get()
    assert services.api_key_revoke(api_key=api_key, actor=alice) is True
    assert services.api_key_revoke(api_key=stale, actor=alice) is False  # a stale copy cannot revoke it twice
    with pytest.raises(ValueError, match="cannot be un-revoked"):
        older.save()  # it still reads revoked_at=None: saving it must not clear the revocation
    with pytest.raises(ValueError, match="cannot be un-revoked"):
        api_key.revoked_at = None
        api_key.save()
    assert ApiKey.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.KEY_REVOKED).count() == 1


def test_revoking_all_keys_revokes_each_live_one_once_and_audits_the_reason(alice, bob):
    live, _ = services.api_key_create(user=alice, name="scanner", scope="read")
    gone, _ = services.api_key_create(user=alice, name="old", scope="read")
    services.api_key_revoke(api_key=gone, actor=alice)
    expired, _ = services.api_key_create(user=alice, name="temp", scope="read",
                                         expires_at=timezone.now() + timedelta(minutes=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    bobs, _ = services.api_key_create(user=bob, name="bob's", scope="read")
    assert services.api_keys_revoke_all(user=alice, actor=alice, reason="password reset") == 2
    assert services.api_keys_revoke_all(user=alice, actor=alice, reason="password reset") == 0
    assert not ApiKey.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert ApiKey.objects.get(pk=bobs.pk).revoked_at is None
    details = sorted(AuditEvent.objects.filter(kind=AuditEvent.Kind.KEY_REVOKED, detail__endswith="password reset")
                     .values_list("detail", flat=True))
    assert details == [f"scanner ({live.prefix}): password reset", f"temp ({expired.prefix}): password reset"]
