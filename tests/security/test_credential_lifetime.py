"""What each credential change ends, against the production profile: API keys do not outlive the password or the
sessions that made them, a key is minted only after a recent password, and the password-change form is not a
password oracle."""

import re
import secrets
import sqlite3
import time
from html.parser import HTMLParser

import pytest
from django.contrib.sessions.serializers import JSONSerializer
from django.core import signing

from conftest import PASSWORD

pytestmark = pytest.mark.security
NEW_PASSWORD = "a completely different passphrase"
# The production default (STRONGBOX_LOGIN_FAILURES_PER_ACCOUNT): the server runs with it.
LIMIT = 5


class _Form(HTMLParser):
    """The fields a browser would submit from the form posting to `action`, as the page left them."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.fields, self.checkboxes = action, False, {}, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = (attrs.get("action") or self.action) == self.action
        elif tag == "input" and self.inside and attrs.get("name"):
            if attrs.get("type") == "checkbox":
                self.checkboxes[attrs["name"]] = "checked" in attrs
                if "checked" in attrs:
                    self.fields[attrs["name"]] = attrs.get("value", "on")
            elif attrs.get("type") not in ("submit", "password"):
                self.fields[attrs["name"]] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def form_on(server, session, page: str, action: str | None = None) -> _Form:
    form = _Form(action or page)
    form.feed(session.get(server.url + page).text)
    return form


def fresh_user(server) -> str:
    """A throw-away account: these tests change passwords, which the shared personas must keep."""
    name = f"cred{secrets.token_hex(4)}"
    server.strongbox("createuser", "--username", name, "--email", f"{name}@example.com", STRONGBOX_PASSWORD=PASSWORD)
    return name


def key_works(server, key: str) -> bool:
    status = server.api(key).get(server.url + "/api/v1/me").status_code
    assert status in (200, 401)
    return status == 200


def reset_link(server, username: str) -> str:
    """Ask for a reset mail as the account's owner would and return the path of the link it carries."""
    session = server.session()
    token = server.csrf(session, "/accounts/password/reset/")
    assert session.post(server.url + "/accounts/password/reset/", allow_redirects=False,
                        data={"csrfmiddlewaretoken": token, "email": f"{username}@example.com"}).status_code == 302
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for mail in sorted((server.data_dir / "outbox").glob("*.log")):
            text = mail.read_text()
            if f"To: {username}@example.com" in text and "/accounts/password/reset/" in text:
                return re.search(r"https://[^/\s]+(/accounts/password/reset/\S+)", text).group(1)
        time.sleep(0.1)
    raise AssertionError("no reset mail arrived")


def test_a_key_stops_working_after_a_password_reset(server):
    name = fresh_user(server)
    key = server.api_key(name)
    assert key_works(server, key)
    session = server.session()
    page = session.get(server.url + reset_link(server, name))  # redirects to the form's own URL, as Django does
    assert "ends every session and revokes every API key" in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = session.post(page.url, allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert not key_works(server, key)
    assert server.query("SELECT count(*) FROM accounts_apikey k JOIN accounts_user u ON u.id = k.user_id "
                        "WHERE u.username = ? AND k.revoked_at IS NULL", (name,)) == [(0,)]
    revoked = server.query("SELECT detail FROM accounts_auditevent WHERE username = ? AND kind = 'key_revoked'",
                           (name,))
    assert len(revoked) == 1 and "password reset" in revoked[0][0]


def change_password(server, session, *, untick: bool = False):
    form = form_on(server, session, "/accounts/password/change/")
    assert form.checkboxes == {"revoke_api_keys": True}  # offered, and ticked unless the user unticks it
    data = {**form.fields, "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    if untick:
        del data["revoke_api_keys"]
    return session.post(server.url + "/accounts/password/change/", data=data, allow_redirects=False)


def sign_out_everywhere(server, session, *, untick: bool = False):
    form = form_on(server, session, "/accounts/", "/accounts/sessions/end-all/")
    assert form.checkboxes == {"revoke_api_keys": True}
    data = dict(form.fields)
    if untick:
        del data["revoke_api_keys"]
    return session.post(server.url + "/accounts/sessions/end-all/", data=data, allow_redirects=False)


@pytest.mark.parametrize("action", [change_password, sign_out_everywhere], ids=["password change", "sign-out"])
def test_a_key_stops_working_after_the_action_with_the_default_choice(server, action):
    name = fresh_user(server)
    key = server.api_key(name)
    assert key_works(server, key)
    assert action(server, server.signed_in(name)).status_code == 302
    assert not key_works(server, key)


@pytest.mark.parametrize("action", [change_password, sign_out_everywhere], ids=["password change", "sign-out"])
def test_a_key_keeps_working_when_the_user_unticks_the_box(server, action):
    name = fresh_user(server)
    key = server.api_key(name)
    assert action(server, server.signed_in(name), untick=True).status_code == 302
    assert key_works(server, key)


def age_the_password_mark(server, session, seconds: int) -> None:
    """Make the session's last password entry `seconds` old, as a session left open on a shared computer is (the
    server stores sessions in its database, signed with its secret key)."""
    session_key = session.cookies["__Host-sessionid"]
    salt, secret = "django.contrib.sessions.SessionStore", server.env["STRONGBOX_SECRET_KEY"]
    with sqlite3.connect(server.data_dir / "strongbox.sqlite3", timeout=30) as db:
        (data,), = db.execute("SELECT session_data FROM django_session WHERE session_key = ?", (session_key,))
        state = signing.loads(data, key=secret, salt=salt, serializer=JSONSerializer, fallback_keys=[])
        state["strongbox.reauth_at"] -= seconds
        data = signing.dumps(state, key=secret, salt=salt, serializer=JSONSerializer, compress=True)
        db.execute("UPDATE django_session SET session_data = ? WHERE session_key = ?", (data, session_key))


def test_creating_a_key_without_a_recent_password_is_refused(server):
    session = server.signed_in("alice")
    age_the_password_mark(server, session, 11 * 60)
    keys = server.count("accounts_apikey")
    token = server.csrf(session, "/accounts/keys/")
    page = session.post(server.url + "/accounts/keys/", allow_redirects=False,
                        data={"csrfmiddlewaretoken": token, "name": "left open", "scope": "write"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/accounts/reauth/")
    api = session.post(server.url + "/api/v1/keys", json={"name": "left open", "scope": "write"},
                       headers={"X-CSRFToken": session.cookies["__Host-csrftoken"]})
    assert api.status_code == 403 and api.headers["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "reauthentication_required" and "/accounts/reauth/" in api.json()["detail"]
    assert server.count("accounts_apikey") == keys
    # Typing the password again opens key creation.
    token = server.csrf(session, "/accounts/reauth/")
    assert session.post(server.url + "/accounts/reauth/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "password": PASSWORD, "next": "/accounts/keys/"}).status_code == 302
    created = session.post(server.url + "/api/v1/keys", json={"name": "after reauth", "scope": "read"},
                           headers={"X-CSRFToken": session.cookies["__Host-csrftoken"]})
    assert created.status_code == 201 and key_works(server, created.json()["key"])


def test_the_password_change_form_locks_after_the_limit_and_audits_each_guess(server):
    name = fresh_user(server)
    session = server.signed_in(name)
    statuses = []
    for guess in range(30):
        token = server.csrf(session, "/accounts/password/change/")
        response = session.post(server.url + "/accounts/password/change/", allow_redirects=False, data={
            "csrfmiddlewaretoken": token, "old_password": f"guess number {guess}",
            "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        statuses.append(response.status_code)
    assert statuses == [400] * LIMIT + [429] * (30 - LIMIT)
    assert re.search(r"Too many failed attempts\. Try again in \d+ minutes?\.", response.text)
    failures = server.query("SELECT detail FROM accounts_auditevent WHERE username = ? AND kind = 'login_failed'",
                            (name,))
    assert len(failures) == LIMIT and all("password change" in detail for (detail,) in failures)
    locked = server.query("SELECT count(*) FROM accounts_auditevent WHERE username = ? AND kind = 'login_locked'",
                          (name,))
    assert locked == [(30 - LIMIT,)]
    # The right password is refused too until the window ends, here and on re-authentication.
    right = change_password(server, session)
    assert right.status_code == 429
    token = server.csrf(session, "/accounts/reauth/")
    assert session.post(server.url + "/accounts/reauth/", data={
        "csrfmiddlewaretoken": token, "password": PASSWORD, "next": "/accounts/"}).status_code == 429
    assert session.get(server.url + "/accounts/", allow_redirects=False).status_code == 200  # still signed in
    assert server.query("SELECT count(*) FROM accounts_auditevent WHERE username = ? AND kind = 'password_changed'",
                        (name,)) == [(0,)]
