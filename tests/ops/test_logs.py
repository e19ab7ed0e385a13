"""STRONGBOX_LOG_FORMAT=json: every line every process of a server writes is one JSON object, and the lines of a
request carry its id (the balancer's, from a trusted proxy), the user and the URL pattern."""

import json
import logging

import pytest

from processes import PASSWORD, Browser, Installation
from strongbox.ops.logformat import JsonLines, granian_log_config, json_line

pytestmark = pytest.mark.django_db


def test_it_writes_a_record_as_one_object_with_the_named_fields():
    record = logging.LogRecord("strongbox.documents", logging.WARNING, __file__, 1, "disk %s full", ("9",), None)
    record.request_id, record.user_id, record.route = "abc", 7, "documents/"
    line = JsonLines().format(record)
    assert "\n" not in line
    assert json.loads(line) | {"time": "t"} == {"time": "t", "level": "WARNING", "logger": "strongbox.documents",
                                                "message": "disk 9 full", "request_id": "abc", "user_id": 7,
                                                "route": "documents/"}
    assert json.loads(line)["time"].endswith("+00:00")


def test_it_keeps_an_exception_inside_the_one_line():
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = JsonLines().format(record)
    assert "\n" not in line
    assert "ValueError: broken\nacross lines" in json.loads(line)["exc_info"]


def test_it_gives_serve_and_granian_the_same_shape():
    assert json.loads(json_line("strongbox.serve", "up", "INFO"))["logger"] == "strongbox.serve"
    assert set(granian_log_config()["formatters"]) == {"generic", "access"}


@pytest.fixture(scope="module")
def installation(tmp_path_factory, django_db_blocker):
    with django_db_blocker.unblock():
        installation = Installation(tmp_path_factory.mktemp("logs"), STRONGBOX_LOG_FORMAT="json",
                                    STRONGBOX_TRUSTED_PROXIES="127.0.0.1")
        installation.manage("createuser", "--username", "lena", "--email", "lena@example.com",
                            STRONGBOX_PASSWORD=PASSWORD)
    yield installation
    installation.close()


def test_it_logs_every_line_of_every_process_as_json_with_the_balancers_request_id(installation):
    server = installation.serve(workers=2, worker=True)
    browser = Browser(server)
    assert browser.sign_in("lena").status_code == 302
    page = browser.get("/documents/", headers={"X-Request-ID": "haproxy-7f3a:1"})
    assert page.status_code == 200 and page.headers["X-Request-ID"] == "haproxy-7f3a:1"
    refused = Browser(server).post("/accounts/login/", {"username": "lena", "password": "wrong"},
                                   headers={"X-Request-ID": "haproxy-7f3a:2"})
    assert refused.status_code == 400  # the form again, with its message
    installation.stop_processes()

    lines = server.process.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # fails on any line that is not one JSON object
    assert {"strongbox.serve", "_granian", "strongbox.access"} <= {record["logger"] for record in records}
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)

    listing = [record for record in records if record.get("request_id") == "haproxy-7f3a:1"]
    (access,) = [record for record in listing if record["logger"] == "strongbox.access"]
    user_id = int(installation.shell("from django.contrib.auth import get_user_model as users; "
                                     "print(users().objects.get(username='lena').pk)"))
    assert access["message"] == "GET /documents/ 200"
    assert (access["method"], access["path"], access["status"], access["route"], access["user_id"]) == (
        "GET", "/documents/", 200, "documents/", user_id)
    assert access["duration_ms"] > 0 and access["client"] == "127.0.0.1"

    # A line written while answering (the failed sign-in's audit line) carries the request's id and route.
    during = [record for record in records if record.get("request_id") == "haproxy-7f3a:2"]
    assert len(during) >= 2, during
    assert {record["route"] for record in during} == {"accounts/login/"}
