"""`strongbox serve` starts a real app server and the task worker, and stops both on SIGTERM."""

import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from services.common import free_port
from strongbox.ops.management.commands.serve import child_environment


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test server
        return response.status, response.read()


@pytest.fixture
def data_dir(tmp_path):
    env = {**os.environ, "STRONGBOX_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "strongbox.settings"}
    subprocess.run([sys.executable, "-m", "strongbox", "migrate", "-v0"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "strongbox", "collectstatic", "--noinput", "-v0"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "strongbox", "createuser", "--username", "erin", "--email",
                    "erin@example.com"], env={**env, "STRONGBOX_PASSWORD": "correct horse battery staple"}, check=True)
    return env


def test_it_serves_and_stops_cleanly(data_dir):
    port = free_port()
    command = [sys.executable, "-m", "strongbox", "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=data_dir,  # noqa: S603 - our own command line
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.decode() for line in server.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        # Up means both children: the app server answers and the task worker has said it started.
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/readyz")
                if any("huey consumer started" in line.lower() for line in lines):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the app server and the worker did not both come up:\n" + "".join(lines)
            time.sleep(0.2)
        assert status == 200 and b'"tasks": "ok"' in body
        # The reset link the task worker mails points at the port serve was given, not at :8000.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        form = browser.open(f"http://127.0.0.1:{port}/accounts/password/reset/", timeout=5).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        browser.open(f"http://127.0.0.1:{port}/accounts/password/reset/", timeout=5,
                     data=urllib.parse.urlencode({"csrfmiddlewaretoken": token, "email": "erin@example.com"}).encode())
        outbox = Path(data_dir["STRONGBOX_DATA_DIR"]) / "outbox"
        deadline = time.monotonic() + 30
        while not (mails := list(outbox.glob("*.log"))):
            assert time.monotonic() < deadline, "the reset mail was not sent"
            time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/accounts/password/reset/" in mails[0].read_text()
        status, body = get(f"http://127.0.0.1:{port}/accounts/login/")
        assert status == 200 and b"Sign in" in body
        stylesheet = re.search(rb'href="(/static/css/strongbox\.[0-9a-f]+\.css)"', body).group(1).decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{stylesheet}", timeout=2) as response:  # noqa: S310
            # Hashed names never change content, so browsers may keep them for good.
            assert "immutable" in response.headers["Cache-Control"]
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
        reader.join(timeout=5)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert server.returncode == 0
    assert "granian" in "".join(lines).lower()
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/healthz")


def test_children_link_to_where_serve_listens_unless_the_site_is_named():
    assert child_environment({}, "127.0.0.1", 8123, False)["STRONGBOX_SITE_URL"] == "http://127.0.0.1:8123"
    assert child_environment({}, "0.0.0.0", 8443, True)["STRONGBOX_SITE_URL"] == "https://127.0.0.1:8443"  # noqa: S104
    assert child_environment({}, "::", 80, False)["STRONGBOX_SITE_URL"] == "http://[::1]:80"
    named = {"STRONGBOX_SITE_URL": "https://docs.example.com"}
    assert child_environment(named, "127.0.0.1", 8123, False) == named


def test_the_embedded_default_keeps_what_it_writes_and_its_generated_keys_private(data_dir):
    root = Path(data_dir["STRONGBOX_DATA_DIR"])
    assert (root / "secret_key").read_text() and (root / "totp_key").read_text()
    shared = [path for path in [root, *root.rglob("*")] if stat.S_IMODE(path.lstat().st_mode) & 0o077]
    assert shared == []
