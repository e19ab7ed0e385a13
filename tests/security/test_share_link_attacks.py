"""Attacking share links on a production server: guessed tokens, dead links, the Referer a page could leak, search
engines, and password guessing, also spread over several app-server processes that must share one budget."""

import re
import secrets

import pytest

from processes import Browser, Installation
from samples import SAMPLES

pytestmark = pytest.mark.security
FAILURES_PER_LINK = 4


def make_link(server, session, document_id: str, **fields) -> str:
    """Create a link to the document through the share dialog; return its path."""
    token = server.csrf(session, f"/documents/{document_id}/sharing/")
    response = session.post(server.url + f"/documents/{document_id}/links/", allow_redirects=True,
                            data={"csrfmiddlewaretoken": token, "expires": "7", **fields})
    assert response.status_code == 200, response.text[:500]
    return re.search(r'value="https?://[^/"]+(/s/[^"]+/)"', response.text).group(1)


@pytest.fixture(scope="module")
def linked(server):
    alice = server.signed_in("alice")
    title = f"Linked {secrets.token_hex(4)}"
    filename, content, _ = SAMPLES["txt"]
    assert server.upload(alice, filename, content, title=title).status_code == 302
    document_id = server.document_id(title)
    return {"alice": alice, "id": document_id, "title": title, "path": make_link(server, alice, document_id)}


def test_guessed_tokens_answer_the_same_404_as_every_dead_link(server, linked):
    anonymous = server.session()
    token = linked["path"].split("/")[2]
    unknown = anonymous.get(server.url + "/s/" + secrets.token_urlsafe(32) + "/")
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], "x" * 500, "%00", "%2e%2e"):
        response = anonymous.get(server.url + f"/s/{guess}/")
        assert response.status_code == 404 == unknown.status_code, guess
        assert response.text == unknown.text and linked["title"] not in response.text
    assert anonymous.get(server.url + linked["path"]).status_code == 200


def test_the_page_is_not_indexed_and_sends_no_referrer(server, linked):
    response = server.session().get(server.url + linked["path"])
    assert response.status_code == 200 and linked["title"] in response.text
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in response.text
    assert "alice" not in response.text and "/documents/" not in response.text
    download = server.session().get(server.url + linked["path"] + "download/")
    assert download.status_code == 200 and download.headers["Referrer-Policy"] == "no-referrer"


def test_revoked_and_expired_links_answer_404(server, linked):
    revoked = make_link(server, linked["alice"], linked["id"])
    expired = make_link(server, linked["alice"], linked["id"])
    link_id = server.query("SELECT id FROM sharing_sharelink ORDER BY id DESC LIMIT 1")[0][0]
    server.strongbox("shell", "-c", "from django.utils import timezone; from strongbox.sharing.models import "
                     f"ShareLink; ShareLink.objects.filter(pk={link_id}).update(expires_at=timezone.now())")
    revoked_id = link_id - 1
    session = linked["alice"]
    token = server.csrf(session, f"/documents/{linked['id']}/sharing/")
    assert session.post(server.url + f"/documents/{linked['id']}/links/{revoked_id}/revoke/", allow_redirects=False,
                        data={"csrfmiddlewaretoken": token}).status_code == 302
    unknown = server.session().get(server.url + "/s/" + secrets.token_urlsafe(32) + "/")
    for path in (revoked, expired, revoked + "download/", expired + "download/"):
        response = server.session().get(server.url + path)
        assert response.status_code == 404 and response.text == unknown.text, path


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    installation = Installation(tmp_path_factory.mktemp("share-links"),
                                STRONGBOX_SHARE_LINK_FAILURES_PER_LINK=str(FAILURES_PER_LINK),
                                STRONGBOX_SHARE_LINK_FAILURES_PER_ADDRESS="1000")
    installation.create_users("alice")
    yield installation
    installation.close()


def test_password_guesses_share_one_budget_across_app_server_processes(installation):
    servers = [installation.serve(workers=2), installation.serve(workers=2)]
    alice = Browser(*servers)
    assert alice.sign_in().status_code == 302
    filename, content, _ = SAMPLES["txt"]
    upload = alice.post("/documents/upload/", {"title": "Guarded", "description": "", "category": "other",
                                               "tags": ""}, files={"file": (filename, content)})
    assert upload.status_code == 302, upload.text[:500]
    document_id = upload.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert alice.post(f"/documents/{document_id}/links/", {"expires": "7", "password": "right one"}).status_code == 302
    page = alice.get(f"/documents/{document_id}/sharing/").text
    path = re.search(r'value="https?://[^/"]+(/s/[^"]+/)"', page).group(1)

    # Each guess on a new connection, alternating between two app servers (of two worker processes each).
    guesser = Browser(*servers, address="127.0.0.2")
    statuses = [guesser.post(path, {"password": f"guess {i}"}).status_code for i in range(FAILURES_PER_LINK * 3)]
    assert statuses == [400] * FAILURES_PER_LINK + [429] * (FAILURES_PER_LINK * 2)
    locked = Browser(*servers, address="127.0.0.3").post(path, {"password": "right one"})
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.text
    assert installation.query("SELECT count(*) FROM accounts_auditevent WHERE kind = 'link_password_failed'") == [
        (FAILURES_PER_LINK,)]
    pids = {line.split('"pid": ')[1].split("}")[0] for server in servers
            for line in server.process.log.read_text().splitlines() if f'"path": "{path}"' in line}
    assert len(pids) >= 2, pids
