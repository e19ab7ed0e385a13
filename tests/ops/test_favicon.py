"""The favicon: linked from every page, and /favicon.ico (which browsers ask for anyway) is not a 404."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_sends_favicon_ico_to_the_svg_icon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].startswith("/static/favicon") and response["Location"].endswith(".svg")
    assert b"<svg" in open(finders.find("favicon.svg"), "rb").read()


def test_every_page_links_the_icon(alice_client):
    for path in ("/accounts/login/", "/documents/"):
        client = Client() if "login" in path else alice_client
        assert b'rel="icon" href="/static/favicon' in client.get(path).content
