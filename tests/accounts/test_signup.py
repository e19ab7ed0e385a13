import re

import pytest
from django.core import mail
from django.urls import reverse

from helpers import PASSWORD
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
    assert User.objects.get(pk=user.pk).is_active is False  # GET only shows the button
    assert client.post(link).status_code == 302
    assert User.objects.get(pk=user.pk).is_active
    assert client.post(link).status_code == 400  # single use
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
