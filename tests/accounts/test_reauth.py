"""Typing the password again before sensitive changes, and the e-mail change that needs it."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpers import PASSWORD, recently_authenticated
from strongbox.accounts.models import AuditEvent, EmailChange, User

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
REAUTH = reverse("accounts:reauth")
EMAIL = reverse("accounts:email_change")
SENT = reverse("accounts:email_change_sent")
SETTINGS = reverse("accounts:settings")



def link_in(message) -> str:
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def kinds() -> list[str]:
    return list(AuditEvent.objects.values_list("kind", flat=True))


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """Return a function that asks for an e-mail change, running the task that mails the link."""

    def post(client: Client, email: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(EMAIL, {"email": email})

    return post


# The re-authentication page

def test_it_asks_for_the_password_before_a_sensitive_page(alice_client):
    response = alice_client.get(EMAIL)
    assert response.status_code == 302 and response["Location"] == f"{REAUTH}?next=%2Faccounts%2Femail%2F"
    page = alice_client.get(response["Location"])
    assert page.status_code == 200 and page.context["next"] == EMAIL


def test_a_wrong_password_is_refused_with_400_next_to_the_field(alice_client):
    response = alice_client.post(REAUTH, {"password": "not my password", "next": EMAIL})
    assert response.status_code == 400
    assert response.context["form"].errors["password"] == ["That is not your password."]
    assert b'id="id_password_error"' in response.content
    assert alice_client.get(EMAIL)["Location"].startswith(REAUTH)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED, username="alice").exists()


def test_the_right_password_returns_to_next_with_a_new_session_key(alice_client):
    before = alice_client.cookies["sessionid"].value
    response = alice_client.post(REAUTH, {"password": PASSWORD, "next": EMAIL})
    assert response.status_code == 302 and response["Location"] == EMAIL
    assert alice_client.cookies["sessionid"].value != before
    assert alice_client.get(EMAIL).status_code == 200


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""])
def test_an_off_site_next_is_ignored(alice_client, next_url):
    response = alice_client.post(f"{REAUTH}?next={next_url}", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == SETTINGS
    assert alice_client.get(f"{REAUTH}?next={next_url}").context["next"] == SETTINGS


def test_the_mark_expires(alice_client, settings):
    settings.REAUTH_MAX_AGE = 60
    recently_authenticated(alice_client, seconds_ago=30)
    assert alice_client.get(EMAIL).status_code == 200
    recently_authenticated(alice_client, seconds_ago=61)
    assert alice_client.get(EMAIL)["Location"].startswith(REAUTH)


def test_signing_in_counts_as_a_recent_password(alice):
    client = Client()
    client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert client.get(EMAIL).status_code == 200


def test_wrong_passwords_count_toward_the_sign_in_lockout(alice_client, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    statuses = [alice_client.post(REAUTH, {"password": "guess number 1"}).status_code for _ in range(2)]
    locked = alice_client.post(REAUTH, {"password": PASSWORD})
    assert statuses == [400, 400] and locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    assert alice_client.get(EMAIL)["Location"].startswith(REAUTH)


def test_the_page_needs_a_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(REAUTH, {"password": PASSWORD}).status_code == 403
    assert client.get(EMAIL)["Location"].startswith(REAUTH)


def test_it_sends_anonymous_users_to_sign_in(anonymous_client):
    for url in (REAUTH, EMAIL, SENT):
        response = anonymous_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)


# Changing the e-mail address

def test_it_mails_a_link_to_the_new_address_and_changes_only_when_followed(alice_client, alice, ask,
                                                                           django_capture_on_commit_callbacks):
    recently_authenticated(alice_client)
    response = ask(alice_client, "alice@new.example")
    assert response.status_code == 302 and response["Location"] == SENT
    [message] = mail.outbox
    assert message.to == ["alice@new.example"]
    link = link_in(message)
    page = alice_client.get(link)
    assert page.status_code == 200 and b"alice@new.example" in page.content
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"  # GET only shows the button

    with django_capture_on_commit_callbacks(execute=True):
        done = alice_client.post(link)
    assert done.status_code == 302 and done["Location"] == SETTINGS
    assert User.objects.get(pk=alice.pk).email == "alice@new.example"
    notice = mail.outbox[1]
    assert notice.to == ["alice@example.com"] and "a…@new.example" in notice.body
    assert "alice@new.example" not in notice.body
    assert {AuditEvent.Kind.EMAIL_CHANGE_ASKED, AuditEvent.Kind.EMAIL_CHANGED} <= set(kinds())
    assert alice_client.get(SETTINGS).status_code == 200  # the change signs nobody out


def normalized(response) -> bytes:
    """Return the body with the CSRF tokens (masked differently on every render) blanked out."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"TOKEN", response.content)


def test_a_taken_address_gets_a_different_mail_but_the_same_answer(alice_client, bob,
                                                                   django_capture_on_commit_callbacks):
    recently_authenticated(alice_client)
    alice_client.get(EMAIL)  # records the session's activity now, so neither request below writes it
    answers, queries = [], []
    for email in ("someone@new.example", "BOB@example.com"):
        with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as request_queries:
            answers.append(alice_client.post(EMAIL, {"email": email}))
        queries.append(len(request_queries.captured_queries))
        for callback in callbacks:  # the task runs after the answer has gone
            callback()
    free, taken = answers
    assert free.status_code == taken.status_code == 302
    assert free["Location"] == taken["Location"] == SENT
    # The request does the same work either way: the lookup happens in the task.
    assert queries[0] == queries[1]
    to_free, to_taken = mail.outbox
    assert to_taken.to == ["BOB@example.com"] and to_taken.subject != to_free.subject
    assert "already uses it" in to_taken.body and "http" not in to_taken.body and "alice" not in to_taken.body
    assert User.objects.get(username="alice").email == "alice@example.com"


def test_the_link_works_once(alice_client, ask):
    recently_authenticated(alice_client)
    ask(alice_client, "alice@new.example")
    link = link_in(mail.outbox[0])
    assert alice_client.post(link).status_code == 302
    again = alice_client.post(link)
    assert again.status_code == 400 and b"This link is not valid" in again.content
    assert alice_client.get(link).status_code == 400


def test_the_link_expires(alice_client, alice, ask, settings):
    settings.EMAIL_CHANGE_TIMEOUT = 3600
    recently_authenticated(alice_client)
    ask(alice_client, "alice@new.example")
    link = link_in(mail.outbox[0])
    EmailChange.objects.update(created_at=timezone.now() - timedelta(seconds=3601))
    assert alice_client.get(link).status_code == 400
    assert alice_client.post(link).status_code == 400
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"


def test_a_newer_request_replaces_the_older_link(alice_client, alice, ask):
    recently_authenticated(alice_client)
    ask(alice_client, "first@new.example")
    ask(alice_client, "second@new.example")
    first, second = (link_in(message) for message in mail.outbox)
    assert alice_client.post(first).status_code == 400
    assert alice_client.post(second).status_code == 302
    assert User.objects.get(pk=alice.pk).email == "second@new.example"


def test_an_outsider_cannot_confirm_someone_elses_link(alice_client, alice, bob_client, ask):
    recently_authenticated(alice_client)
    ask(alice_client, "alice@new.example")
    link = link_in(mail.outbox[0])
    forged = reverse("accounts:email_change_confirm", args=["forged:token"])
    outsider, missing = bob_client.post(link), bob_client.post(forged)
    assert outsider.status_code == missing.status_code == 400
    assert normalized(outsider) == normalized(missing)
    assert bob_client.get(link).status_code == 400
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"
    assert User.objects.get(username="bob").email == "bob@example.com"
    assert alice_client.post(link).status_code == 302  # still good for its owner


def test_anonymous_following_a_link_is_sent_to_sign_in_first(alice_client, anonymous_client, ask):
    recently_authenticated(alice_client)
    ask(alice_client, "alice@new.example")
    link = link_in(mail.outbox[0])
    response = anonymous_client.get(link)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert anonymous_client.post(link).status_code == 302
    assert User.objects.get(username="alice").email == "alice@example.com"


def test_the_address_taken_between_asking_and_confirming_is_refused(alice_client, alice, bob, ask):
    recently_authenticated(alice_client)
    ask(alice_client, "shared@new.example")
    link = link_in(mail.outbox[0])
    User.objects.filter(pk=bob.pk).update(email="Shared@New.Example")
    assert alice_client.post(link).status_code == 400
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"


@pytest.mark.parametrize(("email", "message"), [
    ("not an address", "valid email"),
    ("ALICE@example.com", "already your address"),
    ("", "required"),
])
def test_it_refuses_an_invalid_or_unchanged_address_with_400(alice_client, ask, email, message):
    recently_authenticated(alice_client)
    response = ask(alice_client, email)
    assert response.status_code == 400
    assert message in response.context["form"].errors["email"][0]
    assert not EmailChange.objects.exists() and mail.outbox == []


def test_it_limits_how_often_a_change_can_be_asked_for(alice_client, ask):
    recently_authenticated(alice_client)
    statuses = [ask(alice_client, f"n{i}@new.example").status_code for i in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(mail.outbox) == 5


def test_the_mail_is_sent_from_a_task_not_the_request(alice_client):
    recently_authenticated(alice_client)
    alice_client.post(EMAIL, {"email": "alice@new.example"})  # on_commit callbacks not run: no task queued
    assert mail.outbox == []


def test_asking_and_confirming_need_a_csrf_token(alice, ask):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    recently_authenticated(client)
    assert client.post(EMAIL, {"email": "alice@new.example"}).status_code == 403
    assert not EmailChange.objects.exists()
    trusted = Client()
    trusted.force_login(alice)
    ask(recently_authenticated(trusted), "alice@new.example")
    assert client.post(link_in(mail.outbox[0])).status_code == 403
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"
