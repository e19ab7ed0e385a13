"""Malformed and oversized request bodies and headers: each gets its 4xx with a message, never a 500, and
leaves nothing behind.

The bodies are sent as raw bytes over TLS (http.client), because `requests` would build a well-formed multipart
body, a boundary and a Content-Length of its own.
"""

import http.client
import json
import secrets
import ssl
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.security
PROBLEM = "application/problem+json"
BOUNDARY = "sbboundary"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def problem(self) -> dict:
        assert self.content_type == PROBLEM, (self.status, self.content_type, self.body[:300])
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def send(server, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Answer:
    """Send exactly these bytes (and a Content-Length for them unless one is given) and read the answer."""
    host, port = server.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(server.certificate))
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        headers = {"Referer": server.url + "/", **(headers or {})}
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            connection.putheader(name, value)
        try:
            connection.endheaders(body or None)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            pass  # the server answered without reading the whole body (as it may, refusing it): read the answer
        response = connection.getresponse()
        return Answer(response.status, response.getheader("Content-Type", "").split(";")[0], response.read())
    finally:
        connection.close()


def part(name: str, value: bytes, *, filename: str | None = None, extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n").encode() + value + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload_fields(title: str) -> list[bytes]:
    return [part("title", title.encode()), part("category", b"other")]


# name -> (body, Content-Type, expected status). Each body is a whole upload (title, category, a file) but for
# the one thing wrong with it.
def malformed_uploads(title: str, extra_parts=()) -> dict:
    file = part("file", b"hello\n", filename="a.txt", extra="Content-Type: text/plain\r\n")
    fields = [*extra_parts, *upload_fields(title)]
    form = f"multipart/form-data; boundary={BOUNDARY}"
    return {
        "two files": (multipart(*fields, file, part("file", b"again\n", filename="b.txt")), form, 400),
        "no boundary": (multipart(*fields, file), "multipart/form-data", 400),
        "oversized part header": (multipart(*fields, part("file", b"x", filename="a.txt",
                                                          extra=f"X-Padding: {'p' * 5000}\r\n")), form, 400),
        "300 fields": (multipart(*fields, *(part(f"f{i}", b"x") for i in range(300)), file), form, 400),
        "a 300 KB field": (multipart(*fields, part("description", b"d" * 300 * 1024), file), form, 413),
        # Five characters: base64 comes in fours, so the last one cannot be decoded.
        "bad base64": (multipart(*fields, part("file", b"QUJDR", filename="a.txt",
                                               extra="Content-Transfer-Encoding: base64\r\n")), form, 400),
    }


CASES = list(malformed_uploads("x"))
MESSAGES = {"two files": "one file", "no boundary": "boundary", "oversized part header": "headers longer",
            "300 fields": "fields", "a 300 KB field": "KB", "bad base64": "base64"}


@pytest.fixture(scope="module")
def alice_key(server):
    return server.api_key("alice")


@pytest.fixture(scope="module")
def alice(server):
    return server.signed_in("alice")


@pytest.fixture(scope="module")
def document(server, alice):
    title = f"target {secrets.token_hex(4)}"
    assert server.upload(alice, "target.txt", b"0123456789\n", title=title).status_code == 302
    return server.document_id(title)


def footprint(server) -> tuple:
    """What an accepted request could leave behind: document rows, durable jobs, stored and temporary files."""
    temporary = sorted((server.data_dir / "tmp").rglob("*"))
    return (server.count("documents_document"), server.count("ops_job"), server.stored_files(), temporary)


def cookie_header(session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


@pytest.mark.parametrize("case", CASES)
def test_a_malformed_api_upload_is_refused_with_a_problem(server, alice_key, case):
    before = footprint(server)
    body, content_type, status = malformed_uploads(f"api {case} {secrets.token_hex(4)}")[case]
    answer = send(server, "POST", "/api/v1/documents", body,
                  {"Content-Type": content_type, "Authorization": f"Bearer {alice_key}"})
    assert answer.status == status, answer.body[:500]
    problem = answer.problem()
    assert problem["status"] == status and problem["code"] != "internal_error"
    assert MESSAGES[case].lower() in problem["detail"].lower()
    assert footprint(server) == before


# The upload form takes several files in one post (docs/bulk-work.md; tests/documents/test_bulk_upload.py).
@pytest.mark.parametrize("case", [case for case in CASES if case != "two files"])
def test_a_malformed_upload_form_gets_a_page_that_says_why(server, alice, case):
    before = footprint(server)
    token = server.csrf(alice, "/documents/upload/")
    body, content_type, status = malformed_uploads(f"html {case} {secrets.token_hex(4)}",
                                                   [part("csrfmiddlewaretoken", token.encode())])[case]
    answer = send(server, "POST", "/documents/upload/", body,
                  {"Content-Type": content_type, "Cookie": cookie_header(alice)})
    assert answer.status == status, answer.body[:500]
    assert answer.content_type == "text/html"
    assert MESSAGES[case].lower() in answer.text.lower() and "Traceback" not in answer.text
    assert footprint(server) == before


@pytest.mark.parametrize("path", ["/documents/{id}/edit/", "/accounts/login/", "/accounts/signup/"])
@pytest.mark.parametrize("case", ["no boundary", "300 fields", "a 300 KB field", "bad base64"])
def test_other_forms_refuse_malformed_bodies_the_same_way(server, alice, document, path, case):
    users = server.count("accounts_user")
    before = server.query("SELECT title, version FROM documents_document WHERE public_id = ?", (document,))
    session = alice if "{id}" in path else server.session()
    path = path.format(id=document)
    token = server.csrf(session, path)
    body, content_type, status = malformed_uploads("changed", [part("csrfmiddlewaretoken", token.encode())])[case]
    answer = send(server, "POST", path, body, {"Content-Type": content_type, "Cookie": cookie_header(session)})
    assert answer.status == status, answer.body[:500]
    assert MESSAGES[case].lower() in answer.text.lower()
    assert server.count("accounts_user") == users
    assert server.query("SELECT title, version FROM documents_document WHERE public_id = ?", (document,)) == before


def test_an_api_body_declared_too_large_gets_a_problem(server, alice_key):
    answer = send(server, "POST", "/api/v1/documents", b"--x\r\n",
                  {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(5 * 1024**3),
                   "Authorization": f"Bearer {alice_key}"})
    assert answer.status == 413
    problem = answer.problem()
    assert problem["code"] == "request_too_large" and "MB" in problem["detail"]


def test_a_json_body_over_256_kb_is_refused_with_413(server, alice_key, document):
    before = server.query("SELECT title, description, version FROM documents_document WHERE public_id = ?",
                          (document,))
    body = json.dumps({"description": "d" * 300 * 1024}).encode()
    answer = send(server, "PATCH", f"/api/v1/documents/{document}", body,
                  {"Content-Type": "application/json", "Authorization": f"Bearer {alice_key}"})
    assert answer.status == 413, answer.body[:500]
    assert "KB" in answer.problem()["detail"]
    assert server.query("SELECT title, description, version FROM documents_document WHERE public_id = ?",
                        (document,)) == before


def test_a_json_number_beyond_pythons_digit_limit_is_a_400(server, alice_key, document):
    body = b'{"title": ' + b"9" * 5000 + b"}"
    answer = send(server, "PATCH", f"/api/v1/documents/{document}", body,
                  {"Content-Type": "application/json", "Authorization": f"Bearer {alice_key}"})
    assert answer.status == 400, answer.body[:500]
    assert "JSON" in answer.problem()["detail"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_an_if_match_with_a_huge_version_is_a_stale_precondition(server, alice_key, document, method):
    before = server.query("SELECT version, deleted_at FROM documents_document WHERE public_id = ?", (document,))
    body = b'{"title": "renamed"}' if method == "PATCH" else b""
    answer = send(server, method, f"/api/v1/documents/{document}", body,
                  {"Content-Type": "application/json", "Authorization": f"Bearer {alice_key}",
                   "If-Match": '"v' + "9" * 5000 + '"'})
    assert answer.status == 412, answer.body[:500]
    assert "ETag" in answer.problem()["detail"]
    assert server.query("SELECT version, deleted_at FROM documents_document WHERE public_id = ?", (document,)) == before


@pytest.mark.parametrize(("value", "status"), [("bytes=" + "9" * 5000 + "-", 416),
                                               ("bytes=0-" + "9" * 5000, 206),
                                               ("bytes=-" + "9" * 5000, 206),
                                               ("bytes=" + "0" * 5000 + "2-3", 206)])
@pytest.mark.parametrize("api", [False, True])
def test_a_range_with_thousands_of_digits_is_answered(server, alice, alice_key, document, value, status, api):
    if api:
        path, headers = f"/api/v1/documents/{document}/content", {"Authorization": f"Bearer {alice_key}"}
    else:
        path, headers = f"/documents/{document}/download/", {"Cookie": cookie_header(alice)}
    answer = send(server, "GET", path, headers={**headers, "Range": value})
    assert answer.status == status, answer.body[:500]
    if status == 206:
        assert answer.body == (b"23" if value.endswith("2-3") else b"0123456789\n")
    elif api:
        assert answer.problem()["code"] == "range_not_satisfiable"
