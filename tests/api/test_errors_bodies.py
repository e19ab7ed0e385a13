"""Bodies Django's parser refuses get the API's problem+json, and the web pages a page that says why."""

import json

import pytest
from django.test import Client

from helpers import assert_problem

pytestmark = pytest.mark.django_db
BOUNDARY = "b0undary"
FORM = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, *, filename: str = "", extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n".encode() + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join([part("title", b"Notes"), part("category", b"other"), *parts, f"--{BOUNDARY}--\r\n".encode()])


FILE = part("file", b"hello\n", filename="a.txt")
CASES = {
    "two files": (body(FILE, part("file", b"b", filename="b.txt")), FORM, 400, "too_many_files"),
    "no boundary": (body(FILE), "multipart/form-data", 400, "malformed_body"),
    "oversized part header": (body(part("file", b"x", filename="a.txt", extra=f"X-Pad: {'p' * 2000}\r\n")),
                              FORM, 400, "malformed_body"),
    "too many fields": (body(*(part(f"f{i}", b"x") for i in range(250)), FILE), FORM, 400, "too_many_fields"),
    "a field over 256 KB": (body(part("description", b"d" * 300 * 1024), FILE), FORM, 413, "fields_too_large"),
    "bad base64": (body(part("file", b"QUJDR", filename="a.txt", extra="Content-Transfer-Encoding: base64\r\n")),
                   FORM, 400, "malformed_body"),
}


@pytest.mark.parametrize("case", CASES)
def test_it_answers_an_unreadable_upload_body_with_a_problem(alice_api, isolated_storage, case):
    data, content_type, status, code = CASES[case]
    assert_problem(alice_api.post("/api/v1/documents", data, content_type=content_type), status, code)
    assert alice_api.get("/api/v1/documents").json()["count"] == 0


# The upload page takes several files in one post (docs/bulk-work.md; tests/documents/test_bulk_upload.py).
@pytest.mark.parametrize("case", [case for case in CASES if case != "two files"])
def test_the_upload_page_answers_the_same_bodies_with_a_page_that_says_why(alice_client, isolated_storage, case):
    data, content_type, status, _ = CASES[case]
    response = alice_client.post("/documents/upload/", data, content_type=content_type)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert (b"Back to the upload form" if status == 413 else b"Go back and try again") in response.content


def test_it_answers_a_json_body_over_256_kb_with_413(alice_api):
    payload = json.dumps({"ids": [1] * 100_000})
    problem = assert_problem(alice_api.post("/api/v1/notifications/mark-read", payload,
                                            content_type="application/json"), 413, "fields_too_large")
    assert "256 KB" in problem["detail"]


def test_it_answers_a_number_with_5000_digits_as_unreadable_json(alice_api):
    response = alice_api.post("/api/v1/notifications/mark-read", '{"ids": [' + "9" * 5000 + "]}",
                              content_type="application/json")
    assert "JSON" in assert_problem(response, 400, "malformed_body")["detail"]


def test_a_body_declared_beyond_the_upload_limit_is_a_problem_on_the_api_and_a_page_elsewhere(alice_key):
    headers = {"Authorization": f"Bearer {alice_key}"}
    api = Client(headers=headers).generic("POST", "/api/v1/documents", b"", content_type=FORM,
                                          CONTENT_LENGTH=str(5 * 1024**3))
    assert "MB" in assert_problem(api, 413, "request_too_large")["detail"]
    page = Client().generic("POST", "/accounts/login/", b"", content_type=FORM, CONTENT_LENGTH=str(5 * 1024**3))
    assert page.status_code == 413 and b"Files can be at most" in page.content
