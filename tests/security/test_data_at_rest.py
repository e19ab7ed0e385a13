"""Data at rest: what another local user, or someone holding a copy of the database, can read.

The data directory (the database with password hashes, sessions and every document's text, the mail outbox with
reset links, the file store, the cache) is private to the service user, and two-factor secrets are stored
encrypted under a key that is not in the database.
"""

import re
import stat
import subprocess
import sys
import time

import pyotp

from conftest import PASSWORD

DEVICE_SQL = ("SELECT * FROM accounts_twofactordevice WHERE user_id = "
              "(SELECT id FROM accounts_user WHERE username = ?)")


def _mode(path) -> int | None:
    """The path's permission bits, or None if it is gone (SQLite removes its -shm and -wal files as it likes)."""
    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def _shared(root) -> list[str]:
    """Every path under `root` (and `root` itself) that its group or other users may read, write or enter."""
    modes = {path: _mode(path) for path in [root, *root.rglob("*")] if not path.is_symlink()}
    return [f"{path} {oct(mode)}" for path, mode in modes.items() if mode is not None and mode & 0o077]


def _run(server, *args: str, **env: str | None) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in {**server.env, **env}.items() if value is not None}
    return subprocess.run([sys.executable, "-m", "strongbox", *args], env=environment,  # noqa: S603
                          capture_output=True, text=True, timeout=60)


def _turn_on_two_factor(server, username: str) -> str:
    """Set up an authenticator app through the pages, as the user would; return its secret."""
    session = server.signed_in(username)
    token = server.csrf(session, "/accounts/2fa/")
    assert session.post(server.url + "/accounts/2fa/setup/", data={"csrfmiddlewaretoken": token}).ok
    page = session.get(server.url + "/accounts/2fa/")
    secret = re.search(r'id="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
    confirmed = session.post(server.url + "/accounts/2fa/confirm/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 302, confirmed.text[:500]
    return secret


def test_every_file_and_directory_in_the_data_dir_is_private(server):
    alice = server.signed_in("alice")
    assert server.upload(alice, "private.txt", b"the text of a private document", title="At rest").status_code == 302
    # A reset mail lands in the outbox, with a link that takes the account over.
    anonymous = server.session()
    token = server.csrf(anonymous, "/accounts/password/reset/")
    assert anonymous.post(server.url + "/accounts/password/reset/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "email": "alice@example.com"}).status_code == 302
    deadline = time.monotonic() + 30
    while not list((server.data_dir / "outbox").glob("*.log")):
        assert time.monotonic() < deadline, "the reset mail was not sent"
        time.sleep(0.1)
    assert server.stored_files() and (server.data_dir / "strongbox.sqlite3").exists()
    assert _shared(server.data_dir) == []


def test_the_totp_secret_is_not_stored_in_clear_and_still_signs_in(server):
    server.strongbox("createuser", "--username", "frank", "--email", "frank@example.com", STRONGBOX_PASSWORD=PASSWORD)
    secret = _turn_on_two_factor(server, "frank")
    (row,) = server.query(DEVICE_SQL, ("frank",))
    stored = " ".join(str(value) for value in row)
    assert secret not in stored and secret.lower() not in stored.lower()

    session = server.session()
    token = server.csrf(session, "/accounts/login/")
    step = session.post(server.url + "/accounts/login/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "username": "frank", "password": PASSWORD})
    assert step.status_code == 302 and "/accounts/login/verify/" in step.headers["Location"]
    # The next step's code: the confirming code used this one, and a code works once.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    token = server.csrf(session, "/accounts/login/verify/")
    signed_in = session.post(server.url + "/accounts/login/verify/", allow_redirects=False,
                             data={"csrfmiddlewaretoken": token, "code": code})
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert session.get(server.url + "/documents/", allow_redirects=False).status_code == 200


def test_start_up_makes_a_data_dir_opened_to_other_users_private_again(server):
    database = server.data_dir / "strongbox.sqlite3"
    server.data_dir.chmod(0o755)
    database.chmod(0o644)
    result = _run(server, "check")
    assert result.returncode == 0, result.stderr
    assert _mode(server.data_dir) == 0o700 and _mode(database) == 0o600
    # The operator is told which paths were opened and what they are now.
    assert str(server.data_dir) in result.stderr and str(database) in result.stderr


def test_production_refuses_to_start_without_the_totp_key(server):
    result = _run(server, "check", STRONGBOX_TOTP_KEYS=None)
    assert result.returncode != 0
    assert "STRONGBOX_TOTP_KEYS" in result.stderr.splitlines()[-1]


def test_production_refuses_a_totp_key_that_is_not_a_key(server):
    result = _run(server, "check", STRONGBOX_TOTP_KEYS="not-a-key")
    assert result.returncode != 0
    assert "STRONGBOX_TOTP_KEYS" in result.stderr.splitlines()[-1]
    assert "not-a-key" not in result.stderr
