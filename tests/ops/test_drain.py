"""`strongbox serve` drains on SIGTERM: every worker's /readyz answers 503 at once, so a balancer stops sending new
requests, while requests already running finish; then the server stops. Real processes throughout."""

import hashlib
import json
import os
import re
import signal
import threading
import time

import pytest
import requests

from processes import Browser, Installation, wait_for

DRAIN_SECONDS = 6
KILL_TIMEOUT = 25  # serve.KILL_TIMEOUT: granian's --workers-kill-timeout and a margin
# Larger than what the socket buffers of both ends hold, so the server is still sending when it is told to stop.
LINE, COUNT = b"Every byte of this arrives, though the server stops meanwhile.\n", 32 * 1024 * 1024 // 64
CONTENT = LINE * COUNT


@pytest.fixture
def installation(tmp_path):
    installation = Installation(tmp_path / "install", STRONGBOX_DRAIN_SECONDS=str(DRAIN_SECONDS),
                                STRONGBOX_MAX_UPLOAD_SIZE="64MB")
    installation.create_users("alice")
    yield installation
    installation.close()


def create_large_document(installation: Installation) -> str:
    """Store a 32 MB text file for alice through the service; return its public id."""
    return installation.shell(
        "from django.core.files.uploadedfile import SimpleUploadedFile\n"
        "from strongbox.accounts.models import User\n"
        "from strongbox.documents.services import document_create\n"
        "from strongbox.lib.sniff import check_upload\n"
        f"upload = SimpleUploadedFile('large.txt', {LINE!r} * {COUNT})\n"
        "document = document_create(owner=User.objects.get(username='alice'), title='Large', description='', "
        "category='other', tags=[], upload=upload, kind=check_upload(upload.name, upload))\n"
        "print(document.public_id)")


def readyz(url: str) -> int | None:
    """One probe on a new connection, as a balancer's health check is; None once nothing answers."""
    try:
        return requests.get(f"{url}/readyz", headers={"Connection": "close"}, timeout=5).status_code
    except requests.ConnectionError:
        return None


def probes(log_path, status: int) -> set[int]:
    """The pids of the workers whose access log shows /readyz answered with `status`."""
    pids = set()
    for line in log_path.read_text(errors="replace").splitlines():
        match = re.search(r" strongbox\.access request_id=\S+ (\{.*\})$", line)
        if match:
            entry = json.loads(match.group(1))
            if entry["path"] == "/readyz" and entry["status"] == status:
                pids.add(entry["pid"])
    return pids


class SlowDownload(threading.Thread):
    """Download a document, stalling after the first chunk until `resume` is set, then read the rest."""

    def __init__(self, browser: Browser, path: str):
        super().__init__(daemon=True)
        self.browser, self.path = browser, path
        self.started, self.resume, self.done = threading.Event(), threading.Event(), threading.Event()
        self.body, self.length, self.status, self.error = b"", None, None, None

    def run(self):
        try:
            with self.browser.get(self.path, stream=True) as response:
                self.status, self.length = response.status_code, int(response.headers["Content-Length"])
                chunks = response.iter_content(64 * 1024)
                parts = [next(chunks)]
                self.started.set()
                self.resume.wait(timeout=120)
                parts.extend(chunks)
                self.body = b"".join(parts)
        except Exception as error:  # reported by the test thread
            self.error = error
        finally:
            self.started.set()
            self.done.set()


def test_it_drains_every_worker_and_finishes_the_requests_it_has_before_stopping(installation):
    public_id = create_large_document(installation)
    server = installation.serve(workers=2)
    browser = Browser(server)
    assert browser.sign_in().status_code == 302
    # Both workers answer probes (the kernel hands new connections to either), and their pids are in the log.
    wait_for(lambda: readyz(server.url) == 200 and len(probes(server.process.log, 200)) == 2,
             "probes never reached both workers", timeout=60, process=server.process)
    workers = probes(server.process.log, 200)

    download = SlowDownload(browser, f"/documents/{public_id}/download/")
    download.start()
    assert download.started.wait(timeout=30) and download.error is None, download.error
    try:
        stopped_at = time.monotonic()
        # As a supervisor or a terminal does: to serve's whole process group.
        os.killpg(server.process.pid, signal.SIGTERM)
        answers, other_request = [], None
        # Within the drain period new probes keep arriving on new connections; every worker must refuse them.
        while time.monotonic() - stopped_at < DRAIN_SECONDS - 1 and probes(server.process.log, 503) != workers:
            answers.append(readyz(server.url))
            if answers[-1] == 503 and other_request is None:
                # Only /readyz says no: until the drain period ends the server still answers what it is sent.
                other_request = requests.get(f"{server.url}/healthz", timeout=5).status_code
        assert probes(server.process.log, 503) == workers, server.process.log.read_text()
        first_refusal = answers.index(503)
        assert set(answers[first_refusal:]) == {503}, answers  # once draining, never ready again
        assert other_request == 200
        wait_for(lambda: "Shutting down granian" in server.process.log.read_text(errors="replace"),
                 "granian was not stopped after the drain period", timeout=DRAIN_SECONDS + 30)
        assert time.monotonic() - stopped_at >= DRAIN_SECONDS - 0.5
    finally:
        download.resume.set()
    assert download.done.wait(timeout=60)
    assert download.error is None, download.error
    assert download.status == 200 and download.length == len(CONTENT) == len(download.body)
    assert hashlib.sha256(download.body).digest() == hashlib.sha256(CONTENT).digest()
    server.process.wait(timeout=KILL_TIMEOUT + 10)
    assert server.process.returncode == 0
    assert time.monotonic() - stopped_at < DRAIN_SECONDS + KILL_TIMEOUT + 10
    assert "refused to gracefully stop" not in server.process.log.read_text(errors="replace")
    assert readyz(server.url) is None
