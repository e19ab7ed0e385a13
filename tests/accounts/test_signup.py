import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpers import PASSWORD
from strongbox.accounts import services, tasks
from strongbox.accounts.models import User

pytestmark = pytest.mark.django_db
SIGNUP = reverse("accounts:signup")


def sign_up(client, django_capture_on_commit_callbacks, **fields):
    data = {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD}
    data.update(fields)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(SIGNUP, data)


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0).split("8000", 1)[1]


def test_it_creates_an_inactive_account_and_mails_an_activation_link(client, django_capture_on_commit_callbacks):
    response = sign_up(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:signup_done")
    user = User.objects.get(username="newbie")
    assert not user.is_active
    assert user.password.startswith("argon2$argon2id$")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newbie@example.com"]
    link = link_in(mail.outbox[0])
    assert client.get(link).status_code == 200
    assert User.objects.get(pk=user.pk).is_active is False  # GET only shows the form
    assert client.post(link, {"password": PASSWORD}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active
    assert client.post(link, {"password": PASSWORD}).status_code == 400  # single use
    assert client.login(username="newbie", password=PASSWORD)


def test_it_refuses_a_forged_activation_token(client):
    assert client.get(reverse("accounts:activate", args=["forged:token"])).status_code == 400


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"password1": "short", "password2": "short"}, "password1", "at least 10 characters"),
    ({"password1": "password123", "password2": "password123"}, "password1", "too common"),
    ({"password2": "something else entirely"}, "password2", "differ"),
    ({"email": "not-an-address"}, "email", "valid email"),
    ({"username": "bad name!"}, "username", "valid username"),
    ({"username": ""}, "username", "required"),
])
def test_it_answers_invalid_input_with_400_and_keeps_it(client, django_capture_on_commit_callbacks, fields,
                                                        field, message):
    response = sign_up(client, django_capture_on_commit_callbacks, **{"email": "kept@example.com", **fields})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    if field != "email":
        assert b"kept@example.com" in response.content
    assert not User.objects.filter(username="newbie").exists()
    assert mail.outbox == []


def test_it_answers_alike_for_a_taken_username_or_email(client, alice, django_capture_on_commit_callbacks):
    fresh = sign_up(client, django_capture_on_commit_callbacks, username="fresh", email="fresh@example.com")
    taken_name = sign_up(client, django_capture_on_commit_callbacks, username="ALICE", email="x@example.com")
    taken_mail = sign_up(client, django_capture_on_commit_callbacks, username="other", email="Alice@Example.com")
    assert fresh.status_code == taken_name.status_code == taken_mail.status_code == 302
    assert fresh["Location"] == taken_name["Location"] == taken_mail["Location"]
    assert User.objects.count() == 2  # alice and fresh
    assert [m.to for m in mail.outbox] == [["fresh@example.com"], ["x@example.com"], ["Alice@Example.com"]]
    assert "already in use" in mail.outbox[2].body


def test_it_can_be_closed(client, settings, django_capture_on_commit_callbacks):
    settings.SIGNUP_OPEN = False
    assert client.get(SIGNUP).status_code == 403
    assert sign_up(client, django_capture_on_commit_callbacks).status_code == 403
    assert not User.objects.exists()


def test_it_writes_mail_to_the_outbox_in_the_data_directory_by_default(client, settings, tmp_path,
                                                                       django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox"
    sign_up(client, django_capture_on_commit_callbacks)
    [message] = list((tmp_path / "outbox").iterdir())
    text = message.read_text()
    assert "To: newbie@example.com" in text and "/accounts/activate/" in text


def activation_link(client, django_capture_on_commit_callbacks, **fields) -> str:
    sign_up(client, django_capture_on_commit_callbacks, **fields)
    return link_in(mail.outbox[-1])


def test_activation_asks_for_the_password_chosen_at_sign_up(client, django_capture_on_commit_callbacks):
    link = activation_link(client, django_capture_on_commit_callbacks)
    assert b'name="password"' in client.get(link).content
    missing = client.post(link, {})
    assert missing.status_code == 400 and "required" in " ".join(missing.context["form"].errors["password"])
    wrong = client.post(link, {"password": "the attacker does not know"})
    assert wrong.status_code == 400
    assert "not the password chosen when signing up" in " ".join(wrong.context["form"].errors["password"])
    assert not User.objects.get(username="newbie").is_active
    assert client.post(link, {"password": PASSWORD}).status_code == 302
    assert User.objects.get(username="newbie").is_active


def test_activation_attempts_are_limited(client, settings, django_capture_on_commit_callbacks):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    link = activation_link(client, django_capture_on_commit_callbacks)
    assert [client.post(link, {"password": f"guess number {i}"}).status_code for i in range(2)] == [400, 400]
    refused = client.post(link, {"password": PASSWORD})
    assert refused.status_code == 429 and "Too many attempts. Try again in" in refused.content.decode()
    assert not User.objects.get(username="newbie").is_active


def test_it_limits_sign_ups_per_client_address(settings, db, django_capture_on_commit_callbacks):
    settings.SIGNUPS_PER_ADDRESS = 3

    def attempt(i: int, address: str = "192.0.2.20"):
        data = {"username": f"many{i}", "email": f"many{i}@example.com", "password1": PASSWORD,
                "password2": PASSWORD}
        with django_capture_on_commit_callbacks(execute=True):
            return Client(REMOTE_ADDR=address).post(SIGNUP, data)

    statuses = [attempt(i).status_code for i in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    refused = attempt(9)
    assert "Too many sign-ups from your network address. Try again in" in refused.content.decode()
    assert b'name="username"' in refused.content and b"many9@example.com" in refused.content
    assert attempt(10, address="192.0.2.21").status_code == 302
    assert User.objects.count() == 4 and len(mail.outbox) == 4


def test_it_limits_sign_ups_per_email_address_whatever_its_case(client, settings,
                                                                django_capture_on_commit_callbacks):
    settings.SIGNUPS_PER_EMAIL = 2
    statuses = [sign_up(client, django_capture_on_commit_callbacks, username=f"flood{i}",
                        email="Victim@Example.com" if i % 2 else "victim@example.com").status_code
                for i in range(4)]
    assert statuses == [302, 302, 429, 429]
    assert len(mail.outbox) == 2
    assert sign_up(client, django_capture_on_commit_callbacks, username="other",
                   email="other@example.com").status_code == 302


def test_the_limits_look_the_same_for_taken_and_free_addresses(client, alice, settings,
                                                               django_capture_on_commit_callbacks):
    settings.SIGNUPS_PER_EMAIL = 1
    pages = []
    for email in ("alice@example.com", "nobody@example.com"):
        sign_up(client, django_capture_on_commit_callbacks, username="someone", email=email)
        pages.append(sign_up(client, django_capture_on_commit_callbacks, username="someone", email=email))
    assert pages[0].status_code == pages[1].status_code == 429
    assert pages[0].context["form"].non_field_errors() == pages[1].context["form"].non_field_errors()


def test_a_sign_up_with_a_pending_address_replaces_it_and_says_so(client, django_capture_on_commit_callbacks):
    first = activation_link(client, django_capture_on_commit_callbacks, username="squatter",
                            password1="the squatter's phrase", password2="the squatter's phrase")
    second = activation_link(client, django_capture_on_commit_callbacks, username="owner")
    assert list(User.objects.values_list("username", flat=True)) == ["owner"]
    assert "replaces an earlier sign-up" in mail.outbox[-1].body
    assert "replaces an earlier sign-up" not in mail.outbox[0].body
    assert client.get(first).status_code == 400
    assert client.post(second, {"password": PASSWORD}).status_code == 302


def test_a_pending_username_stays_taken_within_the_window(client, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks, username="wanted", email="first@example.com")
    sign_up(client, django_capture_on_commit_callbacks, username="WANTED", email="second@example.com")
    assert list(User.objects.values_list("email", flat=True)) == ["first@example.com"]
    assert "already in use" in mail.outbox[-1].body


def expire(username: str, settings) -> None:
    User.objects.filter(username=username).update(
        date_joined=timezone.now() - timedelta(seconds=settings.ACCOUNT_ACTIVATION_TIMEOUT + 1))


def test_an_expired_sign_up_frees_its_username_and_address_and_its_link(client, settings,
                                                                        django_capture_on_commit_callbacks):
    old_link = activation_link(client, django_capture_on_commit_callbacks, username="late",
                               email="late@example.com")
    expire("late", settings)
    assert client.get(old_link).status_code == 400
    sign_up(client, django_capture_on_commit_callbacks, username="LATE", email="other@example.com")
    sign_up(client, django_capture_on_commit_callbacks, username="third", email="LATE@example.com")
    assert sorted(User.objects.values_list("username", "email")) == [("LATE", "other@example.com"),
                                                                     ("third", "LATE@example.com")]
    assert all("/accounts/activate/" in message.body for message in mail.outbox)


def test_the_periodic_job_removes_only_expired_sign_ups(client, alice, settings, django_capture_on_commit_callbacks):
    for name in ("expired", "recent", "activated", "privileged"):
        sign_up(client, django_capture_on_commit_callbacks, username=name, email=f"{name}@example.com")
    # Activated by an administrator, then deactivated, never signed in: an account, not a sign-up, for good.
    activated = User.objects.get(username="activated")
    activated.is_active = True
    activated.save(update_fields=["is_active"])
    User.objects.filter(username="activated").update(is_active=False)
    User.objects.filter(username="privileged").update(is_staff=True)
    # Made by an administrator and kept inactive until its owner arrives: never a sign-up either.
    services.user_create(username="invited", email="invited@example.com", password="correct horse battery staple",
                         is_active=False)
    for name in ("expired", "activated", "privileged", "invited", "alice"):
        expire(name, settings)
    tasks.remove_expired_signups.call_local()
    assert sorted(User.objects.values_list("username", flat=True)) == ["activated", "alice", "invited", "privileged",
                                                                       "recent"]


def test_it_shows_the_password_rules_as_a_list_not_as_escaped_html(client):
    page = client.get(SIGNUP).content.decode()
    assert "&lt;ul&gt;" not in page and "&lt;li&gt;" not in page
    assert re.search(r'<div class="help"><ul><li>[^<]+</li>', page)
    assert "at least 10 characters" in page
