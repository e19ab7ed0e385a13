"""The error pages keep the site's header and navigation (signed in or not), and the 500 page needs nothing that
can fail: no query at all."""

import pytest
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils.functional import SimpleLazyObject

from strongbox import urls as site_urls
from strongbox.ops import views

pytestmark = pytest.mark.django_db


@login_required
def boom(request):
    raise RuntimeError("the view failed")


# This module is also the URLconf of the 500-page test: the site's, plus a view that reads the user, then fails.
urlpatterns = [path("boom", boom), *site_urls.urlpatterns]
handler500 = "strongbox.ops.views.server_error"


def assert_signed_in_nav(page: str, username: str = "alice") -> None:
    assert '<header class="topbar">' in page and '<a href="/documents/upload/">Upload</a>' in page
    assert f">{username}</a>" in page and "csrfmiddlewaretoken" not in page and 'rel="icon"' in page


def test_the_404_page_has_the_navigation_of_the_signed_in_user(alice_client):
    response = alice_client.get("/documents/no-such-document/")
    assert response.status_code == 404
    page = response.content.decode()
    assert_signed_in_nav(page)
    assert 'id="notification-count"' in page and "There is nothing here" in page


def test_the_404_page_offers_sign_in_to_anonymous_visitors(client):
    page = client.get("/no/such/page").content.decode()
    assert '<header class="topbar">' in page and 'href="/accounts/login/">Sign in</a>' in page
    assert "Sign out" not in page


@pytest.mark.parametrize(("handler", "status", "text"), [
    (views.permission_denied, 403, "You do not have access to this page."),
    (views.bad_request, 400, "The request could not be understood."),
    (views.csrf_failure, 403, "This form has expired"),
])
def test_the_other_error_pages_have_the_navigation_too(alice, handler, status, text):
    request = RequestFactory().get("/somewhere")
    request.user = alice
    response = handler(request)
    assert response.status_code == status
    page = response.content.decode()
    assert_signed_in_nav(page)
    assert text in page


def test_the_500_page_has_the_navigation_and_reads_nothing(alice, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.content.decode()
    assert_signed_in_nav(page)
    assert "Something went wrong" in page and "notification-count" not in page

    request = RequestFactory().get("/boom")
    request.user = alice  # as the authentication middleware leaves it once a view has read it
    with CaptureQueriesContext(connection) as queries:
        response = views.server_error(request)
    assert response.status_code == 500 and len(queries) == 0
    assert_signed_in_nav(response.content.decode())


def test_the_500_page_does_not_load_a_user_the_request_had_not_read(alice):
    request = RequestFactory().get("/boom")

    def load():
        raise AssertionError("the 500 page must not read the session or the user")

    request.user = SimpleLazyObject(load)
    with CaptureQueriesContext(connection) as queries:
        response = views.server_error(request)
    assert response.status_code == 500 and len(queries) == 0
    assert "Sign in" in response.content.decode()
