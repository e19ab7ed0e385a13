import re

import pytest
from django.core import mail
from django.urls import reverse

from api.conftest import bearer_client
from helpers import PASSWORD
from strongbox.accounts import services
from strongbox.accounts.models import AuditEvent
from strongbox.accounts.services import api_key_create

pytestmark = pytest.mark.django_db
RESET = reverse("accounts:password_reset")


def request_reset(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(RESET, {"email": email})


def test_it_mails_a_single_use_link_that_sets_a_new_password(client, alice, django_capture_on_commit_callbacks):
    response = request_reset(client, "ALICE@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0).split("8000", 1)[1]
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    new = "brand new long passphrase"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert client.login(username="alice", password=new)
    again = client.get(link, follow=True)
    assert again.context["validlink"] is False


def test_it_answers_alike_for_unknown_addresses_and_sends_nothing(client, alice, django_capture_on_commit_callbacks):
    known = request_reset(client, "alice@example.com", django_capture_on_commit_callbacks)
    unknown = request_reset(client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1


def test_it_sends_the_mail_from_a_task_not_the_request(client, alice):
    client.post(RESET, {"email": "alice@example.com"})  # on_commit callbacks not run: the task is not queued
    assert mail.outbox == []


def test_it_refuses_an_invalid_address_with_400(client):
    response = client.post(RESET, {"email": "not an address"})
    assert response.status_code == 400
    assert "valid email" in response.context["form"].errors["email"][0]


def test_it_refuses_a_weak_new_password(client, alice, django_capture_on_commit_callbacks):
    request_reset(client, "alice@example.com", django_capture_on_commit_callbacks)
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0).split("8000", 1)[1]
    form_page = client.get(link, follow=True)
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 400
    assert client.login(username="alice", password=PASSWORD)


def test_a_reset_revokes_every_key_of_the_account(client, alice, bob, django_capture_on_commit_callbacks):
    keys = [api_key_create(user=alice, name=name, scope="write")[1] for name in ("scanner", "backup")]
    bobs = api_key_create(user=bob, name="bob's", scope="read")[1]
    request_reset(client, "alice@example.com", django_capture_on_commit_callbacks)
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0).split("8000", 1)[1]
    form_page = client.get(link, follow=True)
    assert b"revokes every API key" in form_page.content
    new = "brand new long passphrase"
    assert client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}).status_code == 302
    assert [bearer_client(key).get("/api/v1/me").status_code for key in keys] == [401, 401]
    assert bearer_client(bobs).get("/api/v1/me").status_code == 200
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.KEY_REVOKED, user=alice,
                                     detail__endswith="password reset").count() == 2


def test_signing_out_everywhere_ends_the_reset_links_mailed_before(client, alice, django_capture_on_commit_callbacks):
    request_reset(client, "alice@example.com", django_capture_on_commit_callbacks)
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0).split("8000", 1)[1]
    assert client.get(link, follow=True).context["validlink"]
    services.sessions_end_all(user=alice)
    assert client.get(link, follow=True).context["validlink"] is False


def assert_password_rules_listed(page: str) -> None:
    assert "&lt;ul&gt;" not in page and "&lt;li&gt;" not in page
    assert re.search(r'<div class="help"><ul><li>[^<]+</li>', page)


def test_the_reset_and_change_forms_show_the_password_rules_as_a_list(client, alice,
                                                                       django_capture_on_commit_callbacks):
    request_reset(client, "alice@example.com", django_capture_on_commit_callbacks)
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0).split("8000", 1)[1]
    assert_password_rules_listed(client.get(link, follow=True).content.decode())
    client.force_login(alice)
    change = client.get(reverse("accounts:password_change"), follow=True)
    assert b"Change your password" in change.content
    assert_password_rules_listed(change.content.decode())


def test_other_help_texts_stay_escaped():
    from strongbox.templating import help_html
    assert help_html("<b>bold</b>") == "&lt;b&gt;bold&lt;/b&gt;"
