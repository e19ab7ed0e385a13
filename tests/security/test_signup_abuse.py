"""Sign-up abuse (issue 9, finding 5): mail floods at one victim address, squatting names and addresses with
sign-ups nobody confirms, and the pre-account hijack (an attacker signs up with the victim's address and a password
of their own, and waits for the victim to click the link they were mailed)."""

import re
import secrets
import sqlite3
import time

import pytest
import requests

pytestmark = pytest.mark.security

ATTACKER_PASSWORD = "the attacker's own passphrase"
VICTIM_PASSWORD = "the victim's own passphrase"


def sign_up(server, username: str, email: str, password: str = ATTACKER_PASSWORD) -> requests.Response:
    session = server.session()
    token = server.csrf(session, "/accounts/signup/")
    return session.post(server.url + "/accounts/signup/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "username": username, "email": email, "password1": password,
        "password2": password})


def settled(server) -> None:
    """Wait until the task worker has sent every queued mail."""
    deadline = time.monotonic() + 30
    while server.count("ops_job"):
        assert time.monotonic() < deadline, "the queued mails were not sent"
        time.sleep(0.05)


def mails_to(server, email: str) -> list[str]:
    """Return the mails sent to `email` (however its case was typed), oldest first."""
    settled(server)
    paths = sorted((server.data_dir / "outbox").glob("*.log"), key=lambda path: path.stat().st_mtime_ns)
    return [text for text in (path.read_text() for path in paths) if f"to: {email.lower()}\n" in text.lower()]


def activation_path(mail: str) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/activate/\S+/)", mail).group(1)


def fresh(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def accounts_with(server, column: str, value: str) -> list[tuple]:
    return server.query(f"SELECT username, email, is_active FROM accounts_user WHERE lower({column}) = lower(?)",  # noqa: S608
                        (value,))


def age(server, username: str, days: int) -> None:
    """Move an account's sign-up back in time, as if it had waited `days` unconfirmed."""
    with sqlite3.connect(server.data_dir / "strongbox.sqlite3", timeout=10) as db:
        db.execute("UPDATE accounts_user SET date_joined = datetime(date_joined, ?) WHERE username = ?",
                   (f"-{days} days", username))


def sign_in(server, username: str, password: str) -> requests.Response:
    session = server.session()
    token = server.csrf(session, "/accounts/login/")
    return session.post(server.url + "/accounts/login/", allow_redirects=False,
                        data={"csrfmiddlewaretoken": token, "username": username, "password": password})


def test_a_flood_of_sign_ups_with_one_victim_address_is_limited(server):
    victim = f"{fresh('flood')}@example.com"
    statuses = [sign_up(server, fresh("flood"), victim.upper() if i % 2 else victim).status_code for i in range(8)]
    assert statuses == [302] * 3 + [429] * 5
    refused = sign_up(server, fresh("flood"), victim)
    assert refused.status_code == 429
    assert re.search(r"Too many sign-ups with this e-mail address\. Try again in \d+ minutes?\.", refused.text)
    assert 'name="username"' in refused.text  # the form again, not a bare error
    # At most one mail per accepted sign-up (a mail not yet sent when its sign-up was replaced is not sent).
    assert 1 <= len(mails_to(server, victim)) <= 3
    assert len(accounts_with(server, "email", victim)) == 1  # each sign-up replaced the pending one before it


def test_a_pending_sign_up_frees_its_name_and_address_after_the_window_and_the_sweep_removes_it(server):
    squatter, name, address = fresh("squat") + "@example.com", fresh("squat"), fresh("owner") + "@example.com"
    assert sign_up(server, name, squatter).status_code == 302
    assert sign_up(server, name, address).status_code == 302
    assert accounts_with(server, "username", name) == [(name, squatter, 0)]  # taken while the link is valid
    assert "already in use" in mails_to(server, address)[-1]

    age(server, name, 4)  # the activation window (3 days) has passed
    assert sign_up(server, name, address, VICTIM_PASSWORD).status_code == 302
    assert accounts_with(server, "username", name) == [(name, address, 0)]
    assert accounts_with(server, "email", squatter) == []
    [_, mail] = mails_to(server, address)
    assert "/accounts/activate/" in mail

    forgotten = fresh("forgot")
    assert sign_up(server, forgotten, f"{forgotten}@example.com").status_code == 302
    age(server, forgotten, 4)
    server.strongbox("shell", "-c", "from strongbox.accounts import tasks; tasks.remove_expired_signups.call_local()")
    assert accounts_with(server, "username", forgotten) == []
    assert accounts_with(server, "username", name) == [(name, address, 0)]  # still inside its window
    assert accounts_with(server, "username", "alice") == [("alice", "alice@example.com", 1)]


def test_the_pre_account_hijack_fails(server):
    victim, name = fresh("victim") + "@example.com", fresh("lookalike")
    assert sign_up(server, name, victim, ATTACKER_PASSWORD).status_code == 302

    # The victim follows the link they were mailed and presses the button; they do not know the password.
    [mail] = mails_to(server, victim)
    session = server.session()
    page = session.get(server.url + activation_path(mail))
    assert page.status_code == 200 and 'name="password"' in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    for guess in ("", VICTIM_PASSWORD):
        answer = session.post(page.url, allow_redirects=False, data={"csrfmiddlewaretoken": token,
                                                                      "password": guess})
        assert answer.status_code == 400
    assert accounts_with(server, "email", victim) == [(name, victim, 0)]

    # So the attacker's password opens nothing: no session, hence no API key.
    assert sign_in(server, name, ATTACKER_PASSWORD).status_code != 302
    assert server.query("SELECT count(*) FROM accounts_apikey k JOIN accounts_user u ON u.id = k.user_id "
                        "WHERE u.username = ?", (name,)) == [(0,)]


def test_the_victims_own_sign_up_replaces_the_attackers_and_says_so(server):
    victim, squat_name, own_name = fresh("owner") + "@example.com", fresh("squat"), fresh("owner")
    assert sign_up(server, squat_name, victim, ATTACKER_PASSWORD).status_code == 302
    [first] = mails_to(server, victim)
    assert sign_up(server, own_name, victim, VICTIM_PASSWORD).status_code == 302
    assert accounts_with(server, "email", victim) == [(own_name, victim, 0)]
    [second] = [mail for mail in mails_to(server, victim) if mail != first]
    assert own_name in second and "replaces an earlier sign-up" in second
    session = server.session()
    assert session.get(server.url + activation_path(first)).status_code == 400  # the squatter's link is dead
    page = session.get(server.url + activation_path(second))
    # (Failed once in CI with a 400, not reproduced since: say what the server holds if it happens again.)
    assert page.status_code == 200, (page.status_code, activation_path(second), accounts_with(server, "email", victim),
                                     server.query("SELECT id, username, is_active, signup_pending, date_joined FROM "
                                                  "accounts_user WHERE lower(email) = lower(?)", (victim,)))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    assert session.post(page.url, allow_redirects=False,
                        data={"csrfmiddlewaretoken": token, "password": VICTIM_PASSWORD}).status_code == 302
    assert sign_in(server, own_name, VICTIM_PASSWORD).status_code == 302
    assert sign_in(server, squat_name, ATTACKER_PASSWORD).status_code != 302
