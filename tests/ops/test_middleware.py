import time

import pytest
from django.test import Client
from django.urls import reverse

from strongbox.accounts.middleware import SEEN, STARTED
from strongbox.accounts.models import AuditEvent
from strongbox.lib.clientip import parse_networks

pytestmark = pytest.mark.django_db


def echo_remote_addr(client, **extra) -> str:
    response = client.get("/healthz", **extra)
    return response.wsgi_request.META["REMOTE_ADDR"]


def test_forwarding_headers_from_strangers_are_dropped(client, settings):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.1"])
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4",
                          HTTP_X_FORWARDED_PROTO="https")
    meta = response.wsgi_request.META
    assert meta["REMOTE_ADDR"] == "203.0.113.9"
    assert "HTTP_X_FORWARDED_PROTO" not in meta and "HTTP_X_FORWARDED_FOR" not in meta
    assert not response.wsgi_request.is_secure()


def test_a_trusted_proxy_supplies_the_client_address_and_scheme(client, settings):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.1"])
    response = client.get("/healthz", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4",
                          HTTP_X_FORWARDED_PROTO="https")
    assert response.wsgi_request.META["REMOTE_ADDR"] == "198.51.100.4"
    assert response.wsgi_request.is_secure()


def test_the_audit_log_records_the_client_behind_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.1"])
    Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4").post(
        reverse("accounts:login"), {"username": "nobody", "password": "wrong password 1"})
    assert list(AuditEvent.objects.values_list("kind", "ip")) == [(AuditEvent.Kind.LOGIN_FAILED, "198.51.100.4")]


def test_rate_limits_count_each_client_behind_the_proxy_apart(settings):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.1"])
    settings.LOGIN_FAILURES_PER_ADDRESS = 2

    def attempt(client_address: str, name: str) -> int:
        return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client_address).post(
            reverse("accounts:login"), {"username": name, "password": "wrong password 1"}).status_code

    assert [attempt("198.51.100.4", f"user{i}") for i in range(3)] == [400, 400, 429]
    # Another client through the same balancer has its own budget: the proxy's address is not what is counted.
    assert attempt("198.51.100.5", "user9") == 400


def test_responses_carry_corp_and_permissions_policy(client):
    response = client.get("/accounts/login/")
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "geolocation=()" in response["Permissions-Policy"]


def age_session(client, *, started: int, seen: int) -> None:
    session = client.session
    session[STARTED], session[SEEN] = int(time.time()) - started, int(time.time()) - seen
    session.save()


def test_an_idle_session_ends(alice_client, settings):
    settings.SESSION_IDLE_TIMEOUT = 600
    assert alice_client.get(reverse("documents:list")).status_code == 200
    age_session(alice_client, started=700, seen=601)
    assert alice_client.get(reverse("documents:list")).status_code == 302


def test_an_active_session_ends_at_its_absolute_lifetime(alice_client, settings):
    settings.SESSION_COOKIE_AGE = 3600
    assert alice_client.get(reverse("documents:list")).status_code == 200
    age_session(alice_client, started=3601, seen=5)
    assert alice_client.get(reverse("documents:list")).status_code == 302


def test_an_active_session_within_its_limits_continues(alice_client):
    alice_client.get(reverse("documents:list"))
    age_session(alice_client, started=3600, seen=120)
    assert alice_client.get(reverse("documents:list")).status_code == 200
    assert time.time() - alice_client.session[SEEN] < 5  # activity recorded
