"""STRONGBOX_ENV=production refuses unsafe configurations and passes Django's deployment checks."""

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

STRONG_KEY = secrets.token_urlsafe(50)
TOTP_KEY = Fernet.generate_key().decode()


def strongbox(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "STRONGBOX_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "strongbox.settings",
                   "STRONGBOX_ENV": "production", "STRONGBOX_SECRET_KEY": STRONG_KEY,
                   "STRONGBOX_TOTP_KEYS": TOTP_KEY,
                   "STRONGBOX_ALLOWED_HOSTS": "docs.example.com", "STRONGBOX_SITE_URL": "https://docs.example.com",
                   **env}
    environment = {name: value for name, value in environment.items() if value is not None}
    return subprocess.run([sys.executable, "-m", "strongbox", *args], env=environment,  # noqa: S603
                          capture_output=True, text=True, timeout=60)


def test_it_passes_the_deployment_checks(tmp_path):
    result = strongbox(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(("env", "message"), [
    ({"STRONGBOX_SECRET_KEY": None}, "needs STRONGBOX_SECRET_KEY"),
    ({"STRONGBOX_SECRET_KEY": "short"}, "at least 50 random characters"),
    ({"STRONGBOX_SECRET_KEY": "a" * 60}, "at least 50 random characters"),
    ({"STRONGBOX_DEBUG": "true"}, "STRONGBOX_DEBUG must be off"),
    ({"STRONGBOX_ALLOWED_HOSTS": None}, "needs STRONGBOX_ALLOWED_HOSTS"),
    ({"STRONGBOX_TOTP_KEYS": None}, "needs STRONGBOX_TOTP_KEYS"),
    ({"STRONGBOX_TOTP_KEYS": f"{TOTP_KEY},{TOTP_KEY[:-2]}"}, "STRONGBOX_TOTP_KEYS holds something that is not a key"),
    ({"STRONGBOX_TRUSTED_PROXIES": "10.0.0.0/8,nonsense"}, "'nonsense' is not an IP address"),
])
def test_it_refuses_to_start_with_an_unsafe_configuration(tmp_path, env, message):
    result = strongbox(tmp_path, "check", **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_it_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text(STRONG_KEY)
    result = strongbox(tmp_path, "check", STRONGBOX_SECRET_KEY=None, STRONGBOX_SECRET_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr


def test_it_reads_the_totp_keys_from_a_file(tmp_path):
    key_file = tmp_path / "totp"
    key_file.write_text(f"{Fernet.generate_key().decode()}\n{TOTP_KEY}\n")
    result = strongbox(tmp_path, "check", STRONGBOX_TOTP_KEYS=None, STRONGBOX_TOTP_KEYS_FILE=str(key_file))
    assert result.returncode == 0, result.stderr
