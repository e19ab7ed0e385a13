import pytest
from django.test import Client

from api.conftest import bearer_client
from strongbox.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def test_it_limits_each_key_with_429_and_retry_after(settings, alice):
    settings.API_RATE_LIMIT = 3
    first, second = (bearer_client(api_key_create(user=alice, name=n, scope="read")[1]) for n in "ab")
    assert [first.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get("/api/v1/me")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert second.get("/api/v1/me").status_code == 200  # another key has its own budget


def test_it_limits_a_signed_in_user(settings, alice_client):
    settings.API_RATE_LIMIT = 2
    assert [alice_client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]


def test_it_limits_anonymous_callers_by_address(settings):
    settings.API_ANONYMOUS_RATE_LIMIT = 2
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [401, 401, 429]
    assert Client(REMOTE_ADDR="198.51.100.8").get("/api/v1/me").status_code == 401


def test_guessing_keys_is_limited_by_address(settings):
    settings.API_ANONYMOUS_RATE_LIMIT = 2
    client = Client(REMOTE_ADDR="198.51.100.9", headers={"Authorization": "Bearer sbx_00000000_guess"})
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [401, 401, 429]


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(settings):
    settings.API_ANONYMOUS_RATE_LIMIT = 1
    settings.TRUSTED_PROXIES = []
    spoofing = [Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}") for i in range(2)]
    assert [c.get("/api/v1/me").status_code for c in spoofing] == [401, 429]

    from strongbox.lib.clientip import parse_networks

    settings.TRUSTED_PROXIES = parse_networks(["127.0.0.1"])
    behind_proxy = [Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}") for i in range(2)]
    assert [c.get("/api/v1/me").status_code for c in behind_proxy] == [401, 401]
