"""A real Strongbox in the production profile, serving HTTPS on a free loopback port, for the attack suite.

The session starts it once: a throw-away data directory, a self-signed certificate, two accounts (alice and bob),
`strongbox serve` (granian and the task worker). Tests talk to it with `requests` over real TLS and inspect its
SQLite database and file store directly to prove that nothing was written.
"""

import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from services.common import free_port

PASSWORD = "correct horse battery staple"
# alice owns documents, bob attacks them; carol is locked out on purpose; dave is probed for timing.
USERS = ("alice", "bob", "carol", "dave")


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{binary} is required for the security suite")
        pytest.skip(f"{binary} is not installed")
    return path


@dataclass
class Server:
    url: str
    data_dir: Path
    certificate: Path
    env: dict

    def session(self) -> requests.Session:
        """A fresh browser-like client (cookies, same-origin Referer) that trusts the server's certificate."""
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE and proxy variables would override the settings here
        session.verify = str(self.certificate)
        session.headers["Referer"] = self.url + "/"
        return session

    def csrf(self, session: requests.Session, path: str) -> str:
        page = session.get(self.url + path)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    def signed_in(self, username: str) -> requests.Session:
        session = self.session()
        token = self.csrf(session, "/accounts/login/")
        response = session.post(self.url + "/accounts/login/", allow_redirects=False,
                                data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
        assert response.status_code == 302, response.text[:500]
        return session

    def upload(self, session: requests.Session, filename: str, content: bytes, **fields) -> requests.Response:
        """Post the upload form as a browser would (CSRF token from the form, same-origin Referer). An accepted
        upload returns once the worker has extracted its text, which bumps the document's version: tests that
        compare the stored rows before and after an attack start from a settled document."""
        data = {"csrfmiddlewaretoken": self.csrf(session, "/documents/upload/"), "title": "Untitled",
                "category": "other", "description": "", "tags": "", **fields}
        response = session.post(self.url + "/documents/upload/", data=data, files={"file": (filename, content)},
                                allow_redirects=False)
        if response.status_code == 302:
            deadline = time.monotonic() + 30
            while self.query("SELECT count(*) FROM ops_job")[0][0]:
                assert time.monotonic() < deadline, "the uploaded document's text was not extracted"
                time.sleep(0.05)
        return response

    def document_id(self, title: str) -> str:
        return self.query("SELECT public_id FROM documents_document WHERE title = ?", (title,))[0][0]

    def api(self, key: str) -> requests.Session:
        session = self.session()
        session.headers["Authorization"] = f"Bearer {key}"
        return session

    def api_key(self, username: str, scope: str = "write") -> str:
        """Create an API key through the keys page, as the user would, and return it."""
        session = self.signed_in(username)
        token = self.csrf(session, "/accounts/keys/")
        page = session.post(self.url + "/accounts/keys/", data={"csrfmiddlewaretoken": token, "name": "attack suite",
                                                               "scope": scope})
        return re.search(r'id="new-key">([^<]+)<', page.text).group(1)

    def query(self, sql: str, params=()) -> list[tuple]:
        with sqlite3.connect(f"file:{self.data_dir / 'strongbox.sqlite3'}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()

    def count(self, table: str) -> int:
        return self.query(f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608 - table names from tests only

    def stored_files(self) -> list[Path]:
        root = self.data_dir / "files" / "documents"
        return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []

    def strongbox(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "strongbox", *args], env={**self.env, **env},  # noqa: S603
                              check=True, capture_output=True, text=True)


def prepare(server: Server, usernames) -> None:
    """Make the server's data directory: its database, static files and accounts (the suite's password each)."""
    server.strongbox("migrate", "--noinput")
    server.strongbox("collectstatic", "--noinput")
    for name in usernames:
        server.strongbox("createuser", "--username", name, "--email", f"{name}@example.com",
                         STRONGBOX_PASSWORD=PASSWORD)


@contextmanager
def serving(server: Server, key: Path, *options: str):
    """Run `strongbox serve` over HTTPS at the server's URL, with `options`, until the block ends."""
    port = server.url.rsplit(":", 1)[1]
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "strongbox", "serve", "--host", "127.0.0.1", "--port", port, *options,
         "--tls-certificate", str(server.certificate), "--tls-key", str(key)],
        env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(server.url + "/healthz", verify=str(server.certificate), timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, "the server exited during start-up"
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.3)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


SCALE_OUT_VARIABLES = {"DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "STRONGBOX_STORAGE"}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    openssl = _require("openssl")
    root = tmp_path_factory.mktemp("production")
    certificate, key = root / "cert.pem", root / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",  # noqa: S603
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    port = free_port()
    # The attacked server runs embedded (its state is read back from its SQLite file), in both runs of the suite.
    embedded = {name: value for name, value in os.environ.items() if name not in SCALE_OUT_VARIABLES}
    env = {**embedded, "STRONGBOX_ENV": "production", "STRONGBOX_SECRET_KEY": secrets.token_urlsafe(50),
           "STRONGBOX_TOTP_KEYS": Fernet.generate_key().decode(),
           "STRONGBOX_ALLOWED_HOSTS": "localhost", "STRONGBOX_SITE_URL": f"https://localhost:{port}",
           "STRONGBOX_DATA_DIR": str(root / "data"),
           "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_LOG_LEVEL": "WARNING",
           # Every test connects from 127.0.0.1: the per-address limits are tested in tests/accounts instead.
           "STRONGBOX_LOGIN_FAILURES_PER_ADDRESS": "1000", "STRONGBOX_SIGNUPS_PER_ADDRESS": "1000",
           "STRONGBOX_API_ANONYMOUS_RATE_LIMIT": "1000"}
    env.pop("STRONGBOX_TASKS_IMMEDIATE", None)
    server = Server(url=f"https://localhost:{port}", data_dir=root / "data", certificate=certificate, env=env)
    prepare(server, USERS)
    with serving(server, key, "--workers", "1"):
        yield server
