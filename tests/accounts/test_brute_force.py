import re
from contextlib import ExitStack

import pytest
from django.test import Client
from django.urls import reverse

from helpers import PASSWORD
from strongbox.accounts import throttle
from strongbox.accounts.models import AuditEvent

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")


def attempt(username: str, password: str = "wrong password 1", address: str = "192.0.2.10", **headers):
    return Client(REMOTE_ADDR=address, **headers).post(LOGIN, {"username": username, "password": password})


def test_it_locks_an_account_name_after_repeated_failures(alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    assert [attempt("alice").status_code for _ in range(3)] == [400, 400, 400]
    locked = attempt("alice", PASSWORD)  # even the right password waits out the lockout
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts. Try again in" in locked.content.decode()
    assert "minutes" in locked.content.decode() or "minute" in locked.content.decode()
    assert attempt("bob", PASSWORD).status_code in (302, 400)  # other names are unaffected


def test_lockouts_look_the_same_for_unknown_names(alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    for name in ("alice", "nobody"):
        for _ in range(2):
            attempt(name)
    known, unknown = attempt("alice"), attempt("nobody")
    assert known.status_code == unknown.status_code == 429

    def normalized(response) -> str:
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        return body.replace('value="alice"', "").replace('value="nobody"', "")

    assert normalized(known) == normalized(unknown)
    assert "Too many failed sign-in attempts" in normalized(known)


def test_it_limits_an_address_trying_many_names(settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 4
    assert [attempt(f"user{i}").status_code for i in range(5)] == [400, 400, 400, 400, 429]
    assert attempt("user9", address="192.0.2.11").status_code == 400


def test_rotating_x_forwarded_for_does_not_reset_the_count(settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    statuses = [attempt(f"u{i}", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}").status_code for i in range(3)]
    assert statuses == [400, 400, 429]


def test_failures_and_lockouts_are_audited(alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1
    attempt("alice", HTTP_USER_AGENT="evil\nINFO forged line")
    attempt("alice")
    kinds = list(AuditEvent.objects.values_list("kind", "username", "ip"))
    assert (AuditEvent.Kind.LOGIN_FAILED, "alice", "192.0.2.10") in kinds
    assert (AuditEvent.Kind.LOGIN_LOCKED, "alice", "192.0.2.10") in kinds


def test_password_reset_requests_are_limited(alice, settings):
    settings.RESET_REQUESTS_PER_EMAIL = 2
    client = Client(REMOTE_ADDR="192.0.2.20")
    url = reverse("accounts:password_reset")
    statuses = [client.post(url, {"email": "alice@example.com"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    unknown = [client.post(url, {"email": "ghost@example.com"}).status_code for _ in range(3)]
    assert unknown == [302, 302, 429]
    assert "Too many reset requests" in client.post(url, {"email": "alice@example.com"}).content.decode()


@pytest.mark.parametrize("spelling", ["ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "ᵃlice", "ALICE", " alice "])
def test_every_spelling_that_reaches_an_account_shares_its_lockout(alice, settings, spelling):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    assert [attempt(name).status_code for name in ("alice", spelling)] == [400, 400]
    for name in ("alice", spelling, "ａｌｉｃｅ"):
        assert attempt(name, PASSWORD, address="192.0.2.30").status_code == 429


def test_a_successful_sign_in_does_not_count_as_a_failure(alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    assert [attempt("alice", password).status_code for password in
            ("wrong password 1", PASSWORD, PASSWORD, "wrong password 2", PASSWORD)] == [400, 302, 302, 400, 429]


def test_a_refused_attempt_does_not_lengthen_the_count(alice, settings):
    # Refused attempts give their reservation back: once the window is over, the budget is whole again.
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1
    assert [attempt("alice").status_code for _ in range(4)] == [400, 429, 429, 429]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED).count() == 1


def test_when_every_check_slot_is_taken_it_answers_503_at_once_and_counts_nothing(alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1
    with ExitStack() as stack:
        slots = [stack.enter_context(throttle.check_slot()) for _ in range(settings.SIGNIN_CHECKS_PER_PROCESS)]
        assert all(slots)
        busy = attempt("alice", PASSWORD)
    assert busy.status_code == 503 and busy["Retry-After"] == "5"
    assert "Too many sign-ins are being checked right now" in busy.content.decode()
    assert attempt("alice", PASSWORD).status_code == 302  # the busy answer used up nothing
