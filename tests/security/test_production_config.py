"""The production profile's configuration and cookies, from outside: every cookie the HTTPS server sets is Secure
with the __Host- prefix, and a configuration that would put wrong or attacker-chosen hosts in mails is refused at
start-up with a message naming the variable."""

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from samples import SAMPLES


def set_cookies(response) -> list[str]:
    """Every Set-Cookie header of the response and of the redirects that led to it, unmerged."""
    return [header for step in (*response.history, response) for header in step.raw.headers.getlist("Set-Cookie")]


def test_every_cookie_of_a_day_of_use_is_secure_and_host_only(server):
    session = server.session()
    headers = set_cookies(session.get(server.url + "/accounts/login/"))
    token = server.csrf(session, "/accounts/login/")
    headers += set_cookies(session.post(server.url + "/accounts/login/", data={
        "csrfmiddlewaretoken": token, "username": "alice", "password": "correct horse battery staple"}))
    # Remembered list preferences (they were plain `sb_sort` / `sb_density` cookies without Secure).
    headers += set_cookies(session.get(server.url + "/documents/?sort=-title&density=compact"))
    filename, content, _ = SAMPLES["txt"]
    headers += set_cookies(server.upload(session, filename, content, title="Cookie jar"))
    # The upload's message is a cookie until the next page shows it, and that page deletes it.
    shown = session.get(server.url + "/documents/")
    headers += set_cookies(shown)
    assert "Cookie jar" in shown.text
    names = {header.split("=", 1)[0] for header in headers}
    assert {"__Host-sb_sort", "__Host-sb_density", "__Host-messages", "__Host-sessionid",
            "__Host-csrftoken"} <= names, names
    for header in headers:
        attributes = [part.strip().lower() for part in header.split(";")[1:]]
        assert header.startswith("__Host-"), header
        assert "secure" in attributes and "path=/" in attributes, header
        assert not any(attribute.startswith("domain=") for attribute in attributes), header
    # The preference still works under its new name.
    assert 'value="-title" selected' in session.get(server.url + "/documents/").text


def check(tmp_path, **env: str | None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_DATA_DIR": str(tmp_path),
                   "STRONGBOX_ENV": "production", "STRONGBOX_SECRET_KEY": secrets.token_urlsafe(50),
                   "STRONGBOX_TOTP_KEYS": Fernet.generate_key().decode(),
                   "STRONGBOX_ALLOWED_HOSTS": "docs.example.com", "STRONGBOX_SITE_URL": "https://docs.example.com",
                   **env}
    environment = {name: value for name, value in environment.items() if value is not None}
    return subprocess.run([sys.executable, "-m", "strongbox", "check"], env=environment,  # noqa: S603
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "variable"), [
    ({"STRONGBOX_SITE_URL": None}, "STRONGBOX_SITE_URL"),  # mails would link to http://127.0.0.1:8000
    ({"STRONGBOX_SITE_URL": "http://docs.example.com"}, "STRONGBOX_SITE_URL"),  # reset links in clear
    ({"STRONGBOX_ALLOWED_HOSTS": "*"}, "STRONGBOX_ALLOWED_HOSTS"),  # any Host header accepted
    ({"STRONGBOX_ALLOWED_HOSTS": "docs.example.com,*"}, "STRONGBOX_ALLOWED_HOSTS"),
])
def test_production_refuses_a_site_url_or_host_list_that_mails_could_not_trust(tmp_path, env, variable):
    result = check(tmp_path, **env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert variable in last_line and "Traceback" not in last_line, result.stderr[-800:]


def test_production_starts_with_an_https_site_url_and_named_hosts(tmp_path):
    result = check(tmp_path)
    assert result.returncode == 0, result.stderr[-800:]
