"""Hostile input: script payloads stay inert, query syntax stays data, hostile files never reach the store."""

import http.client
import io
import secrets
import ssl
import sys
import zipfile
from pathlib import Path

import pytest
from markupsafe import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from samples import docx_bytes, pdf_bytes, png_bytes, zip_bomb_bytes  # noqa: E402

pytestmark = pytest.mark.security
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SHORT_XSS = "<img src=x onerror=alert(1)>"  # fits a tag's 50 characters


@pytest.fixture(scope="module")
def alice(server):
    return server.signed_in("alice")


def assert_inert(html: str, payload: str | None = None) -> None:
    """No payload tag survives as markup; with `payload`, its escaped text is shown instead."""
    assert "<script>alert" not in html and "<img src=x onerror" not in html
    if payload is not None:
        assert str(escape(payload)) in html


@pytest.mark.parametrize(("field", "payload"), [("title", XSS), ("description", XSS), ("tags", SHORT_XSS)])
def test_script_payloads_in_fields_are_escaped_everywhere(server, alice, field, payload):
    marker = secrets.token_hex(4)
    fields = {"title": f"xss {field} {marker}", field: payload if field != "title" else f"{payload}{marker}"}
    assert server.upload(alice, "x.txt", b"hello\n", **fields).status_code == 302
    public_id = server.query("SELECT public_id FROM documents_document WHERE title LIKE ?", (f"%{marker}%",))[0][0]
    assert_inert(alice.get(f"{server.url}/documents/{public_id}/").text, payload)
    for path in ("/documents/", f"/documents/{public_id}/edit/"):
        assert_inert(alice.get(server.url + path).text)
    assert_inert(alice.get(server.url + "/documents/", params={"q": marker}).text)


def test_a_script_payload_in_the_filename_is_escaped(server, alice):
    marker = secrets.token_hex(4)
    assert server.upload(alice, f'{XSS}.txt', b"hi\n", title=f"filename {marker}").status_code == 302
    public_id = server.document_id(f"filename {marker}")
    page = alice.get(f"{server.url}/documents/{public_id}/").text
    assert_inert(page)
    assert "onerror=alert(1)&gt;.txt" in page  # the name (directories cut at its "/") is shown as text


def test_a_script_payload_in_the_search_query_is_escaped(server, alice):
    page = alice.get(server.url + "/documents/", params={"q": XSS}).text
    assert_inert(page, XSS)
    suggestions = alice.get(server.url + "/documents/suggest/", params={"q": XSS}).text
    assert "<script>alert" not in suggestions


@pytest.mark.parametrize("query", ["' OR 1=1 --", '" OR ""="', "1; DROP TABLE documents_document; --",
                                   "title:* OR owner_id:*", "x' UNION SELECT password FROM accounts_user --",
                                   "NEAR(a b) * ^ \"", "%' AND 1=1 AND '%'='"])
def test_sql_and_fts_syntax_in_search_is_plain_text(server, alice, query):
    count = server.count("documents_document")
    page = alice.get(server.url + "/documents/", params={"q": query})
    assert page.status_code == 200 and "argon2" not in page.text
    api = server.api(server.api_key("bob", "read")).get(server.url + "/api/v1/documents", params={"q": query})
    assert api.status_code == 200 and api.json()["count"] == 0
    assert server.count("documents_document") == count


@pytest.mark.parametrize(("params", "status"), [
    ({"category": "' OR 1=1 --"}, 400), ({"sort": "id; DROP"}, 400), ({"date_from": "2020-01-01' OR '1'='1"}, 400),
    ({"tag": "' OR 1=1 --"}, 200), ({"page": "1 OR 1=1"}, 200),
])
def test_sql_in_filters_is_refused_or_matches_nothing(server, alice, params, status):
    response = alice.get(server.url + "/documents/", params=params)
    assert response.status_code == status and "Traceback" not in response.text
    if "tag" in params:  # a well-formed but odd tag name is just a tag nobody has
        assert "No documents match" in response.text
    elif status == 400:  # the filter is named in the error banner, and nothing else was filtered
        assert "were not understood" in response.text



@pytest.mark.parametrize(("filename", "content", "status", "message"), [
    ("report.pdf", b"<html><script>alert(1)</script></html>" + pdf_bytes("x"), 400, "markup"),
    ("image.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", 400, "not accepted"),
    ("notes.txt", b"<svg onload=alert(1)>", 400, "not accepted"),
    ("picture.svg", b"<svg/>", 400, "are not accepted"),
    ("page.html", b"<html></html>", 400, "are not accepted"),
    ("letter.docx", zip_bomb_bytes(50 * 1024 * 1024), 400, "not accepted"),
    ("fake.docx", png_bytes(), 400, "not a Word document"),
    ("tool.pdf.exe", b"MZ\x90\x00", 400, "are not accepted"),
])
def test_hostile_files_are_refused_and_nothing_is_stored(server, alice, filename, content, status, message):
    documents, files = server.count("documents_document"), server.stored_files()
    response = server.upload(alice, filename, content, title=f"hostile {secrets.token_hex(4)}")
    assert response.status_code == status
    assert "Traceback" not in response.text
    assert server.count("documents_document") == documents and server.stored_files() == files


def test_a_docx_with_a_path_traversal_entry_is_refused(server, alice):
    buffer = io.BytesIO(docx_bytes("hello"))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("../../evil.sh", b"rm -rf /")
    response = server.upload(alice, "evil.docx", buffer.getvalue(), title=f"traversal {secrets.token_hex(4)}")
    assert response.status_code == 400


def test_a_traversal_filename_is_stored_under_a_random_name(server, alice):
    title = f"traversal name {secrets.token_hex(4)}"
    assert server.upload(alice, "../../../../etc/passwd.txt", b"root:x:0:0\n", title=title).status_code == 302
    public_id = server.document_id(title)
    original, stored = server.query("SELECT original_filename, file FROM documents_document WHERE public_id = ?",
                                    (public_id,))[0]
    assert original == "passwd.txt" and ".." not in stored and "passwd" not in stored
    assert (server.data_dir / "files" / stored).resolve().is_relative_to((server.data_dir / "files").resolve())


@pytest.mark.parametrize("filename", ['quote".txt', "semi;colon.txt", "bidi\u202etxt.exe.txt", "é" * 300 + ".txt"])
def test_unusual_filenames_are_served_without_header_injection(server, alice, filename):
    title = f"name {secrets.token_hex(4)}"
    assert server.upload(alice, filename, b"content\n", title=title).status_code == 302
    response = alice.get(f"{server.url}/documents/{server.document_id(title)}/download/")
    assert response.status_code == 200 and response.content == b"content\n"
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "\u202e" not in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_an_oversize_body_is_refused_before_it_is_read(server, alice):
    # Declare 5 GB and send a few bytes: the answer must come from the declared length alone.
    host, port = server.url.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(
        cafile=str(server.certificate)), timeout=10)
    cookies = "; ".join(f"{c.name}={c.value}" for c in alice.cookies)
    connection.putrequest("POST", "/documents/upload/")
    for name, value in (("Content-Type", "multipart/form-data; boundary=x"), ("Content-Length", str(5 * 1024**3)),
                        ("Cookie", cookies), ("Referer", server.url + "/")):
        connection.putheader(name, value)
    connection.endheaders(b"--x\r\n")
    response = connection.getresponse()
    assert response.status == 413
    assert b"Files can be at most" in response.read()
    connection.close()


def test_too_many_fields_or_files_are_refused(server, alice):
    token = server.csrf(alice, "/documents/upload/")
    many_fields = {f"f{i}": "x" for i in range(500)}
    assert alice.post(server.url + "/documents/upload/", data={"csrfmiddlewaretoken": token, **many_fields},
                      files={"file": ("a.txt", b"a")}).status_code == 400
    two_files = [("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))]
    assert alice.post(server.url + "/documents/upload/", data={"csrfmiddlewaretoken": token, "title": "two"},
                      files=two_files).status_code == 400
