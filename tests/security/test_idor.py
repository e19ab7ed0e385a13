"""Another user's objects: every route answers exactly as for a missing object and changes nothing."""

import secrets

import pytest

pytestmark = pytest.mark.security
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def victim(server):
    """A document of alice's, and alice's session."""
    alice = server.signed_in("alice")
    title = f"Alice private {secrets.token_hex(4)}"
    assert server.upload(alice, "secret.txt", b"alice's secret text\n", title=title).status_code == 302
    return {"id": server.document_id(title), "title": title, "alice": alice}


@pytest.fixture(scope="module")
def bob(server):
    return server.signed_in("bob")


def snapshot(server):
    return (server.query("SELECT public_id, title, description, version FROM documents_document ORDER BY id"),
            server.stored_files())


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/documents/{id}/"), ("get", "/documents/{id}/edit/"), ("get", "/documents/{id}/delete/"),
    ("get", "/documents/{id}/download/"), ("get", "/documents/{id}/title/"), ("get", "/documents/{id}/heading/"),
    ("post", "/documents/{id}/edit/"), ("post", "/documents/{id}/delete/"), ("post", "/documents/{id}/title/"),
    ("get", "/documents/{id}/versions/"), ("post", "/documents/{id}/versions/"),
    ("get", "/documents/{id}/versions/1/download/"), ("post", "/documents/{id}/versions/1/restore/"),
    ("post", "/documents/trash/{id}/restore/"), ("get", "/documents/trash/{id}/purge/"),
    ("post", "/documents/trash/{id}/purge/"),
])
def test_html_routes_hide_other_users_documents(server, victim, bob, method, path):
    before = snapshot(server)
    token = server.csrf(bob, "/documents/upload/")
    data = {"csrfmiddlewaretoken": token, "title": "pwned", "category": "other"} if method == "post" else None
    theirs = getattr(bob, method)(server.url + path.format(id=victim["id"]), data=data, allow_redirects=False)
    missing = getattr(bob, method)(server.url + path.format(id=MISSING), data=data, allow_redirects=False)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text and victim["title"] not in theirs.text
    assert snapshot(server) == before


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/v1/documents/{id}", None), ("patch", "/api/v1/documents/{id}", {"title": "pwned"}),
    ("delete", "/api/v1/documents/{id}", None), ("get", "/api/v1/documents/{id}/content", None),
    ("get", "/api/v1/documents/{id}/versions", None), ("post", "/api/v1/documents/{id}/versions", None),
    ("get", "/api/v1/documents/{id}/versions/1/content", None),
    ("post", "/api/v1/documents/{id}/versions/1/restore", None),
    ("post", "/api/v1/trash/{id}/restore", None), ("delete", "/api/v1/trash/{id}", None),
])
def test_api_routes_hide_other_users_documents(server, victim, method, path, body):
    bob_api = server.api(server.api_key("bob"))
    before = snapshot(server)
    theirs = getattr(bob_api, method)(server.url + path.format(id=victim["id"]), json=body)
    missing = getattr(bob_api, method)(server.url + path.format(id=MISSING), json=body)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                                               "code": "not_found", "detail": "There is no such object."}
    assert snapshot(server) == before


def test_lists_and_search_never_show_other_users_documents(server, victim, bob):
    assert victim["title"] not in bob.get(server.url + "/documents/").text
    assert victim["title"] not in bob.get(server.url + "/documents/", params={"q": "secret"}).text
    assert victim["title"] not in bob.get(server.url + "/documents/suggest/", params={"q": "alice"}).text
    bob_api = server.api(server.api_key("bob", "read"))
    assert bob_api.get(server.url + "/api/v1/documents", params={"q": "secret"}).json()["count"] == 0
    assert bob_api.get(server.url + "/api/v1/search/suggest", params={"q": "alice"}).json() == []


def test_notifications_of_others_cannot_be_marked_read(server, victim):
    ids = [row[0] for row in server.query("SELECT n.id FROM documents_notification n JOIN accounts_user u "
                                           "ON u.id = n.user_id WHERE u.username = 'alice' AND n.read_at IS NULL")]
    bob_api = server.api(server.api_key("bob"))
    response = bob_api.post(server.url + "/api/v1/notifications/mark-read", json={"ids": ids})
    assert response.status_code == 200 and response.json() == {"marked": 0}
    placeholders = ",".join("?" * len(ids))  # one bound parameter per id
    sql = f"SELECT count(*) FROM documents_notification WHERE read_at IS NULL AND id IN ({placeholders})"  # noqa: S608
    still_unread = server.query(sql, ids)[0][0] if ids else 0
    assert still_unread == len(ids)


def test_api_keys_of_others_cannot_be_revoked(server):
    server.api_key("alice", "read")
    key_id, prefix = server.query("SELECT k.public_id, k.prefix FROM accounts_apikey k JOIN accounts_user u "
                                  "ON u.id = k.user_id WHERE u.username = 'alice' ORDER BY k.id DESC")[0]
    bob = server.signed_in("bob")
    token = server.csrf(bob, "/accounts/keys/")
    response = bob.post(f"{server.url}/accounts/keys/{key_id}/revoke/", data={"csrfmiddlewaretoken": token},
                        allow_redirects=False)
    assert response.status_code == 404
    api = bob.delete(f"{server.url}/api/v1/keys/{key_id}", headers={"X-CSRFToken": bob.cookies["__Host-csrftoken"]})
    assert api.status_code == 404
    assert server.query("SELECT revoked_at FROM accounts_apikey WHERE prefix = ?", (prefix,))[0][0] is None


def test_mass_assignment_through_the_api_is_refused(server, victim):
    alice_api = server.api(server.api_key("alice"))
    before = snapshot(server)
    for field, value in (("owner", 2), ("size", 1), ("sha256", "0" * 64), ("version", 99), ("id", "x"),
                         ("created_at", "2000-01-01T00:00:00Z")):
        response = alice_api.patch(f"{server.url}/api/v1/documents/{victim['id']}", json={field: value})
        assert response.status_code == 400, field
        assert response.json()["code"] == "invalid_request"
    assert snapshot(server) == before


def test_mass_assignment_through_the_form_is_ignored(server, victim):
    alice = victim["alice"]
    owner_before = server.query("SELECT owner_id FROM documents_document WHERE public_id = ?", (victim["id"],))
    token = server.csrf(alice, f"/documents/{victim['id']}/edit/")
    response = alice.post(f"{server.url}/documents/{victim['id']}/edit/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "title": victim["title"], "category": "other", "owner": "2", "owner_id": "2",
        "size": "1", "sha256": "0" * 64})
    assert response.status_code == 302
    assert server.query("SELECT owner_id FROM documents_document WHERE public_id = ?", (victim["id"],)) == owner_before


@pytest.fixture(scope="module")
def trashed_victim(server):
    """A document of alice's that she moved to her trash."""
    alice = server.signed_in("alice")
    title = f"Alice trashed {secrets.token_hex(4)}"
    assert server.upload(alice, "binned.txt", b"alice's binned text\n", title=title).status_code == 302
    public_id = server.document_id(title)
    token = server.csrf(alice, f"/documents/{public_id}/delete/")
    response = alice.post(f"{server.url}/documents/{public_id}/delete/", data={"csrfmiddlewaretoken": token},
                          allow_redirects=False)
    assert response.status_code == 302
    return {"id": public_id, "title": title}


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/documents/trash/{id}/restore/"), ("get", "/documents/trash/{id}/purge/"),
    ("post", "/documents/trash/{id}/purge/"),
])
def test_html_trash_routes_hide_other_users_trashed_documents(server, trashed_victim, bob, method, path):
    before = snapshot(server)
    token = server.csrf(bob, "/documents/upload/")
    data = {"csrfmiddlewaretoken": token} if method == "post" else None
    theirs = getattr(bob, method)(server.url + path.format(id=trashed_victim["id"]), data=data, allow_redirects=False)
    missing = getattr(bob, method)(server.url + path.format(id=MISSING), data=data, allow_redirects=False)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text and trashed_victim["title"] not in theirs.text
    assert trashed_victim["title"] not in bob.get(server.url + "/documents/trash/").text
    assert snapshot(server) == before


@pytest.mark.parametrize(("method", "path"), [("post", "/api/v1/trash/{id}/restore"),
                                              ("delete", "/api/v1/trash/{id}")])
def test_api_trash_routes_hide_other_users_trashed_documents(server, trashed_victim, method, path):
    bob_api = server.api(server.api_key("bob"))
    before = snapshot(server)
    theirs = getattr(bob_api, method)(server.url + path.format(id=trashed_victim["id"]))
    missing = getattr(bob_api, method)(server.url + path.format(id=MISSING))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert trashed_victim["id"] not in bob_api.get(server.url + "/api/v1/trash").text
    assert snapshot(server) == before
