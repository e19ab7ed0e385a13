import re

import pytest
from django.test import Client
from django.urls import reverse

from api.conftest import bearer_client
from helpers import PASSWORD
from strongbox.accounts.models import ApiKey, AuditEvent
from strongbox.accounts.services import api_key_create

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
DOCUMENTS = reverse("documents:list")


def test_it_signs_in_and_rotates_the_session_key(client, alice):
    client.get(LOGIN)
    client.session["planted"] = "x"
    before = client.cookies.get("sessionid")
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == DOCUMENTS
    after = client.cookies["sessionid"].value
    assert before is None or before.value != after


def test_it_does_not_accept_a_session_id_planted_before_login(alice):
    attacker = Client()
    attacker.get(LOGIN)
    victim = Client()
    victim.cookies["sessionid"] = "fixatedsessionid0000000000000000"
    victim.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert victim.cookies["sessionid"].value != "fixatedsessionid0000000000000000"


def test_it_answers_a_wrong_password_with_400_and_a_generic_message(client, alice):
    response = client.post(LOGIN, {"username": "alice", "password": "wrong password!"})
    assert response.status_code == 400
    assert b"Please enter a correct username and password" in response.content
    assert b'value="alice"' in response.content


def test_it_logs_out_only_with_post_and_flushes_the_session(alice_client):
    assert alice_client.get(reverse("accounts:logout")).status_code == 405
    assert alice_client.get(DOCUMENTS).status_code == 200
    old_session = alice_client.cookies["sessionid"].value
    assert alice_client.post(reverse("accounts:logout")).status_code == 302
    assert alice_client.get(DOCUMENTS).status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = old_session
    assert replay.get(DOCUMENTS).status_code == 302


def test_it_signs_out_everywhere(alice):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.force_login(alice)
        assert device.get(DOCUMENTS).status_code == 200
    response = laptop.post(reverse("accounts:sessions_end_all"))
    assert response.status_code == 302
    assert phone.get(DOCUMENTS).status_code == 302
    assert laptop.get(DOCUMENTS).status_code == 302
    assert Client().login(username="alice", password=PASSWORD)


def test_it_refuses_sign_out_everywhere_by_get(alice_client):
    assert alice_client.get(reverse("accounts:sessions_end_all")).status_code == 405


def test_it_changes_the_password_and_ends_other_sessions(alice):
    here, elsewhere = Client(), Client()
    here.force_login(alice)
    elsewhere.force_login(alice)
    new = "a different long passphrase"
    response = here.post(reverse("accounts:password_change"),
                         {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert here.get(DOCUMENTS).status_code == 200
    assert elsewhere.get(DOCUMENTS).status_code == 302
    assert Client().login(username="alice", password=new)


def test_it_refuses_a_wrong_old_password_with_400(alice_client):
    response = alice_client.post(reverse("accounts:password_change"),
                                 {"old_password": "nope", "new_password1": "x" * 12, "new_password2": "x" * 12})
    assert response.status_code == 400
    assert "old password was entered incorrectly" in response.context["form"].errors["old_password"][0]


def test_it_enforces_csrf_on_login(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert b"This form has expired" in response.content


def key_works(key: str) -> bool:
    return bearer_client(key).get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(("tick", "works"), [(True, False), (False, True)])
def test_signing_out_everywhere_revokes_the_keys_unless_unticked(alice, alice_client, tick, works):
    key = api_key_create(user=alice, name="scanner", scope="read")[1]
    page = alice_client.get(reverse("accounts:settings")).content.decode()
    assert re.search(r'<input type="checkbox" name="revoke_api_keys"[^>]* checked', page)
    alice_client.post(reverse("accounts:sessions_end_all"), {"revoke_api_keys": "on"} if tick else {})
    assert key_works(key) is works


def change(client, old=PASSWORD, **extra):
    new = "a different long passphrase"
    return client.post(reverse("accounts:password_change"),
                       {"old_password": old, "new_password1": new, "new_password2": new, **extra})


@pytest.mark.parametrize(("tick", "works"), [(True, False), (False, True)])
def test_a_password_change_revokes_the_keys_unless_unticked(alice, alice_client, tick, works):
    key = api_key_create(user=alice, name="scanner", scope="read")[1]
    page = alice_client.get(reverse("accounts:password_change")).content.decode()
    assert re.search(r'<input type="checkbox" name="revoke_api_keys"[^>]* checked', page)
    assert change(alice_client, **({"revoke_api_keys": "on"} if tick else {})).status_code == 302
    assert key_works(key) is works
    assert ApiKey.objects.filter(revoked_at__isnull=True).exists() is works


def test_wrong_old_passwords_are_audited_and_locked_like_re_authentication(alice, alice_client, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    assert [change(alice_client, old=f"guess {n}").status_code for n in range(5)] == [400, 400, 400, 429, 429]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED, user=alice).count() == 3
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_LOCKED, user=alice).count() == 2
    locked = change(alice_client)
    assert locked.status_code == 429
    assert re.search(r"Too many failed attempts\. Try again in \d+ minutes?\.", locked.content.decode())
    assert Client().login(username="alice", password=PASSWORD)  # unchanged


def test_a_right_old_password_with_a_weak_new_one_costs_no_attempt(alice_client, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(3):
        response = alice_client.post(reverse("accounts:password_change"),
                                     {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"})
        assert response.status_code == 400
    assert change(alice_client).status_code == 302
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED).exists()


def test_a_session_signed_in_before_the_strongbox_backend_stays_signed_in(alice):
    # Sessions made before accounts/backends.py existed name Django's ModelBackend: an upgrade must not end them.
    client = Client()
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("accounts:settings")).status_code == 200
