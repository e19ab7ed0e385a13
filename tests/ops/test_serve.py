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
import uuid
from pathlib import Path

import pytest

from services.common import free_port
from strongbox.ops.serve import child_environment, server_command


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test server
        return response.status, response.read()


@pytest.fixture
def data_dir(tmp_path):
    env = {**os.environ, "STRONGBOX_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "strongbox.settings"}
    subprocess.run([sys.executable, "-m", "strongbox", "migrate", "-v0"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "strongbox", "collectstatic", "--noinput", "-v0"], env=env, check=True)
    # A name of its own: in the scale-out pass every data directory shares the session's PostgreSQL database.
    name = f"erin{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "-m", "strongbox", "createuser", "--username", name, "--email",  # noqa: S603
                    f"{name}@example.com"], env={**env, "STRONGBOX_PASSWORD": "correct horse battery staple"},
                   check=True)
    return {**env, "ERIN": name}


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
                     data=urllib.parse.urlencode({"csrfmiddlewaretoken": token,
                                                 "email": f"{data_dir['ERIN']}@example.com"}).encode())
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


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie waiting for its new parent to reap it has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_its_app_server_and_workers_die_with_serve(data_dir):
    port = free_port()
    command = [sys.executable, "-m", "strongbox", "serve", "--port", str(port), "--workers", "1", "--no-worker"]
    server = subprocess.Popen(command, env=data_dir, stdout=subprocess.DEVNULL,  # noqa: S603 - our own command
                              stderr=subprocess.DEVNULL, start_new_session=True)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the app server did not come up"
            time.sleep(0.2)
        children = children_of(server.pid)
        assert children, "serve started no app server"
        children += [worker for child in children for worker in children_of(child)]  # granian's workers
        # The app server runs in a process group of its own (so serve alone decides when it stops): killing
        # serve's group leaves it to the kernel to kill the app server and its workers, as a crash would.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(running(child) for child in children):
            assert time.monotonic() < deadline, "the app server outlived serve"
            time.sleep(0.2)
        with pytest.raises(OSError):
            get(f"http://127.0.0.1:{port}/healthz")
    finally:
        for pgid in [server.pid, *children]:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_the_app_server_stops_gracefully_and_leaves_the_access_log_to_strongbox():
    command = server_command("127.0.0.1", 8000, 2, 4)
    assert command[command.index("--workers-kill-timeout") + 1] == "20"
    assert "--access-log" not in command  # Strongbox's own (ops/requestid.py) has the client and the request id
    assert command[1:3] == ["-m", "strongbox.ops.appserver"]  # granian, whose workers die with it


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
