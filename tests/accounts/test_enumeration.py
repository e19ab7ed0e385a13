"""The answers to sign-up, sign-in and reset must not depend on whether an account exists: same status, same
body, and the same expensive work (one Argon2 computation), which is what makes their timing alike."""

import re
import time

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpers import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def argon2_calls(monkeypatch):
    calls = []
    original = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def encode(self, *args, **kwargs):
        calls.append("encode")
        return original[0](self, *args, **kwargs)

    def verify(self, *args, **kwargs):
        calls.append("verify")
        return original[1](self, *args, **kwargs)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", verify)
    return calls


def normalized(response) -> bytes:
    """Return the body with the CSRF token (masked differently on every render) blanked out."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"TOKEN", response.content)


def assert_same_wrong_password_answer(client, argon2_calls, known: str, unknown: str) -> None:
    """A wrong password for the account `known` and for the unknown name `unknown`: the same page (but for the
    name typed) after the same hashing work."""
    argon2_calls[:] = []
    for_known = client.post(reverse("accounts:login"), {"username": known, "password": "wrong guess 123"})
    known_work, argon2_calls[:] = len(argon2_calls), []
    for_unknown = client.post(reverse("accounts:login"), {"username": unknown, "password": "wrong guess 123"})
    assert for_known.status_code == for_unknown.status_code == 400
    assert known_work == len(argon2_calls) == 1
    assert (normalized(for_known).replace(known.encode(), b"NAME")
            == normalized(for_unknown).replace(unknown.encode(), b"NAME"))


def test_login_does_the_same_work_for_known_and_unknown_accounts(client, alice, argon2_calls):
    assert_same_wrong_password_answer(client, argon2_calls, "alice", "alicf")


def test_signup_does_the_same_work_for_taken_and_free_names(client, alice, argon2_calls):
    data = {"email": "someone@example.com", "password1": "long enough phrase", "password2": "long enough phrase"}
    taken = client.post(reverse("accounts:signup"), {**data, "username": "alice"})
    taken_work, argon2_calls[:] = len(argon2_calls), []
    free = client.post(reverse("accounts:signup"), {**data, "username": "zed", "email": "zed@example.com"})
    assert taken.status_code == free.status_code == 302
    assert taken["Location"] == free["Location"]
    assert taken_work == len(argon2_calls) == 1


def test_reset_does_no_lookup_in_the_request(client, alice):
    # The request only records the mail job (the same for any address); the lookup happens in the job.
    pages, queries = [], []
    for email in ("alice@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as captured:
            pages.append(client.post(reverse("accounts:password_reset"), {"email": email}))
        queries.append([query["sql"] for query in captured.captured_queries])
    for sql in queries:
        assert not [query for query in sql if "accounts_user" in query]
        [insert] = [query for query in sql if query.startswith("INSERT")]
        assert insert.startswith('INSERT INTO "ops_job"')
    assert len(queries[0]) == len(queries[1])
    assert pages[0].status_code == pages[1].status_code == 302
    assert pages[0]["Location"] == pages[1]["Location"]


def test_failed_sign_ins_take_the_same_floor_time_even_for_legacy_hashes(client, settings, django_user_model,
                                                                       monkeypatch):
    # The floor is far above any hashing time, and the view's sleep is recorded instead of slept: each failed
    # sign-in must end exactly at the floor, however long its (PBKDF2 or Argon2) check took on a busy machine.
    settings.LOGIN_FAILURE_MIN_SECONDS = 30
    django_user_model.objects.create(username="legacy", email="legacy@example.com",
                                     password=make_password("an old long password", hasher="pbkdf2_sha256"))
    ends = []

    def timed(username: str) -> float:
        start = time.monotonic()
        monkeypatch.setattr("strongbox.accounts.views.time.sleep",
                            lambda seconds: ends.append(time.monotonic() - start + seconds))
        response = client.post(reverse("accounts:login"), {"username": username, "password": "wrong guess 123"})
        assert response.status_code == 400
        return ends[-1]

    legacy, unknown = timed("legacy"), timed("nobody-at-all")
    assert 30 <= legacy < 30.5 and 30 <= unknown < 30.5
    assert abs(legacy - unknown) < 0.2


def test_an_account_not_activated_says_so_only_to_its_password(client, django_user_model, argon2_calls):
    django_user_model.objects.create(username="newbie", email="newbie@example.com", is_active=False,
                                     signup_pending=True, password=make_password("the chosen password"))
    argon2_calls[:] = []
    right = client.post(reverse("accounts:login"), {"username": "newbie", "password": "the chosen password"})
    assert right.status_code == 400 and b"This account is not activated yet" in right.content
    assert "_auth_user_id" not in client.session
    assert_same_wrong_password_answer(client, argon2_calls, "newbie", "newbif")


def test_a_deactivated_account_says_so_only_to_its_password(client, alice):
    alice.last_login, alice.is_active = timezone.now(), False
    alice.save()
    right = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert right.status_code == 400 and b"This account has been deactivated" in right.content
    wrong = client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong guess 123"})
    assert b"deactivated" not in wrong.content and b"Please enter a correct username" in wrong.content
