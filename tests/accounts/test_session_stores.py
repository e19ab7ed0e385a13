"""Every session strategy of docs/operations.md works: sign in, stay signed in, "sign out everywhere" ends the
session on other devices; and the documented difference of signed cookies: a copy of a signed-out cookie still
works until it expires, where every stored strategy refuses it."""

import pytest
from django.test import Client
from django.urls import reverse

from helpers import PASSWORD

pytestmark = pytest.mark.django_db
STORES = ["db", "cache", "cached_db", "signed_cookies"]
LIST = "/documents/"


@pytest.fixture(params=STORES)
def store(request, settings):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


def signed_in() -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_a_session_holds_and_ends_everywhere(store, alice):
    laptop, phone = signed_in(), signed_in()
    assert laptop.get(LIST).status_code == 200 and phone.get(LIST).status_code == 200
    phone.post(reverse("accounts:sessions_end_all"))
    response = laptop.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_copied_cookie_dies_at_sign_out_except_with_signed_cookies(store, alice, settings):
    browser = signed_in()
    stolen = browser.cookies[settings.SESSION_COOKIE_NAME].value
    browser.post(reverse("accounts:logout"))
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    expected = 200 if store == "signed_cookies" else 302
    assert thief.get(LIST).status_code == expected
