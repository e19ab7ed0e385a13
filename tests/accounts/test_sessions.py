import pytest
from django.test import Client
from django.urls import reverse

from helpers import PASSWORD

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
