"""STRONGBOX_SENTRY_DSN: a failed request reaches the error tracker, scrubbed of anything secret or personal.

The tracker is a local capture: an HTTP server on loopback that stores the envelopes sentry-sdk sends it."""

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from django.test import Client
from django.urls import include, path

from strongbox.ops.errors import init_error_tracking, scrub

pytestmark = pytest.mark.django_db
SECRET = "s3cr3t-value-that-must-not-leave"


def fail(request, token=None):
    raise RuntimeError("the disk is on fire")


# The real URLs, and two that fail: one plain, one whose URL holds a secret as a confirmation link does.
urlpatterns = [
    path("fail/", fail),
    path("accounts/activate/<str:token>/", fail),
    path("", include("strongbox.urls")),
]


class Capture(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.server.received.append((self.path, body.decode()))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def tracker():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    init_error_tracking(f"http://publickey@127.0.0.1:{server.server_port}/42", environment="test", release="9.9")
    yield server
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)  # as without a DSN: the rest of the suite sends nothing
    server.shutdown()


def events(tracker) -> list[dict]:
    sentry_sdk.flush(timeout=5)
    found = []
    for _, envelope in tracker.received:
        lines = envelope.splitlines()
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


def test_it_reports_a_failed_request_with_its_id(tracker, settings):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/fail/")
    assert response.status_code == 500
    (event,) = events(tracker)
    assert tracker.received[0][0] == "/api/42/envelope/"
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "the disk is on fire")
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    assert (event["environment"], event["release"], event["transaction"]) == ("test", "9.9", "/fail/")


def test_it_sends_nothing_secret_or_personal(tracker, settings, alice):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    client.cookies["csrftoken"] = SECRET
    response = client.post(f"/accounts/activate/{SECRET}/?next={SECRET}", {"password": SECRET, "email": SECRET},
                           HTTP_AUTHORIZATION=f"Bearer {SECRET}", HTTP_X_API_KEY=SECRET)
    assert response.status_code == 500
    (event,) = events(tracker)
    text = json.dumps(event)
    assert SECRET not in text, event["request"]
    assert client.cookies["sessionid"].value not in text
    assert alice.email not in text and alice.username not in text
    assert "data" not in event["request"] and "cookies" not in event["request"]
    assert all(frame.get("vars") is None for value in event["exception"]["values"]
               for frame in value["stacktrace"]["frames"])


def test_it_replaces_a_link_that_holds_a_secret_by_its_pattern():
    # The URL of an event from a real server (the WSGI layer adds it; Django's test client has none).
    event = {"transaction": "/accounts/password/reset/{uidb64}/{token}/", "request": {
        "url": f"https://docs.example.com/accounts/password/reset/MQ/{SECRET}/", "query_string": f"x={SECRET}",
        "method": "POST"}}
    assert scrub(event)["request"] == {"url": "https://docs.example.com/accounts/password/reset/{uidb64}/{token}/",
                                       "method": "POST"}
    plain = {"transaction": "/documents/{document_id}/", "request": {"url": "https://docs.example.com/documents/7/"}}
    assert scrub(plain)["request"]["url"] == "https://docs.example.com/documents/7/"


def test_it_sends_nothing_without_a_dsn(settings):
    assert settings.SENTRY_DSN is None
    assert not sentry_sdk.get_client().is_active()
