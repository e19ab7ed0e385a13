"""Request ids: the balancer's or a new one, in the response, in every log line of the request, on the 500 page."""

import io
import logging
import re
import sys

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path, reverse

from processes import Installation, _FromAddress
from strongbox import urls as site_urls
from strongbox.lib.clientip import parse_networks
from strongbox.ops.requestid import MAX_LENGTH, RequestIdFilter

pytestmark = pytest.mark.django_db
GENERATED = re.compile(r"[0-9a-f]{32}")


def boom(request):
    raise RuntimeError("the view failed")


# This module is also the URLconf of the 500-page test: one view that fails, and the project's error page (whose
# navigation links to the site's pages).
urlpatterns = [path("boom", boom), *site_urls.urlpatterns]
handler500 = "strongbox.ops.views.server_error"


@pytest.fixture
def proxy(settings):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.1"])
    return Client(REMOTE_ADDR="10.0.0.1")


@pytest.fixture
def log_lines():
    """Collect what the root logger writes, formatted as settings.LOGGING formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(django_settings.LOGGING["formatters"]["text"]["format"]))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_it_gives_every_response_a_new_request_id(client):
    first, second = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


def test_it_takes_the_request_id_of_a_trusted_proxy(proxy):
    haproxy_id = "7F000001:D2A4_7F000001:1F90_6929A3C1_0001:1A2B"
    assert proxy.get("/healthz", HTTP_X_REQUEST_ID=haproxy_id)["X-Request-ID"] == haproxy_id


def test_it_ignores_the_request_id_of_anyone_else(client, settings):
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.1"])
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.9", HTTP_X_REQUEST_ID="chosen-by-the-client")
    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize("malformed", ["", "a" * (MAX_LENGTH + 1), "two words", "line\nINFO forged", "<script>",
                                       'quote"d', "caf\u00e9"])
def test_it_replaces_a_malformed_request_id_even_from_the_proxy(proxy, malformed):
    assert GENERATED.fullmatch(proxy.get("/healthz", HTTP_X_REQUEST_ID=malformed)["X-Request-ID"])


def test_the_longest_accepted_request_id_is_kept(proxy):
    longest = "a" * MAX_LENGTH
    assert proxy.get("/healthz", HTTP_X_REQUEST_ID=longest)["X-Request-ID"] == longest


def test_every_log_line_of_a_request_carries_its_id(proxy, log_lines):
    logging.getLogger("strongbox.test").info("before the request")
    response = proxy.post(reverse("accounts:login"), {"username": "nobody", "password": "wrong password 1"},
                          HTTP_X_REQUEST_ID="req-42", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert response.status_code == 400 and response["X-Request-ID"] == "req-42"
    lines = log_lines()
    audit = [line for line in lines if " strongbox.audit " in line]
    access = [line for line in lines if " strongbox.access " in line]
    assert len(audit) == 1 and "request_id=req-42 " in audit[0] and '"login_failed"' in audit[0]
    assert len(access) == 1 and "request_id=req-42 " in access[0]
    assert '"status": 400' in access[0] and '"client": "198.51.100.4"' in access[0]
    assert "request_id=- before the request" in lines[0]


def test_the_configured_log_handler_gives_lines_their_request_id():
    # settings.LOGGING as Django applied it at start-up: the console handler carries the filter its format needs.
    consoles = [handler for handler in logging.getLogger().handlers
                if any(isinstance(filter_, RequestIdFilter) for filter_ in handler.filters)]
    assert consoles and all("request_id=%(request_id)s" in handler.formatter._fmt for handler in consoles)


def test_the_500_page_shows_the_request_id_to_quote(proxy, settings):
    settings.ROOT_URLCONF = __name__
    proxy.raise_request_exception = False
    response = proxy.get("/boom", HTTP_X_REQUEST_ID="quote-me-123")
    assert response.status_code == 500 and response["X-Request-ID"] == "quote-me-123"
    page = response.content.decode()
    assert "quote-me-123" in page and "Traceback" not in page and "the view failed" not in page


@pytest.fixture
def installation(tmp_path):
    installation = Installation(tmp_path / "install", STRONGBOX_TRUSTED_PROXIES="127.0.0.1")
    yield installation
    installation.close()


def get_from(address: str, url: str, **headers) -> requests.Response:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session.get(url, headers={"Connection": "close", **headers}, timeout=10)


@pytest.mark.skipif(sys.platform != "linux", reason="needs 127.0.0.2, which only Linux routes to loopback")
def test_a_real_server_logs_and_returns_the_balancers_id_and_the_forwarded_client(installation):
    server = installation.serve(workers=2)
    proxied = get_from("127.0.0.1", f"{server.url}/accounts/login/", **{
        "X-Request-ID": "haproxy-0001", "X-Forwarded-For": "198.51.100.7"})
    direct = get_from("127.0.0.2", f"{server.url}/accounts/login/", **{
        "X-Request-ID": "chosen-0002", "X-Forwarded-For": "198.51.100.8"})
    assert proxied.status_code == direct.status_code == 200
    assert proxied.headers["X-Request-ID"] == "haproxy-0001"
    assert GENERATED.fullmatch(direct.headers["X-Request-ID"])
    installation.stop_processes()
    log = server.process.log.read_text()
    access = [line for line in log.splitlines() if " strongbox.access " in line]
    assert any("request_id=haproxy-0001 " in line and '"client": "198.51.100.7"' in line for line in access), log
    assert any(f"request_id={direct.headers['X-Request-ID']} " in line and '"client": "127.0.0.2"' in line
               for line in access), log
    assert "chosen-0002" not in log and "198.51.100.8" not in log
