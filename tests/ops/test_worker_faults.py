"""No acknowledged work is lost when a task worker stops: SIGTERM lets the running job finish, SIGKILL in the middle
of a text extraction or of sending a mail leaves the job to be redone by the next worker. Real processes: the
installation's `serve` and `worker` commands, and a real SMTP server (aiosmtpd)."""

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from processes import Installation, wait_for
from services.common import free_port

# Short leases so a dead worker's job is due again within seconds (the lease must outlast both timeouts).
FAST_RECOVERY = {"STRONGBOX_JOB_LEASE_SECONDS": "4", "STRONGBOX_EXTRACT_TIMEOUT": "3",
                 "STRONGBOX_EMAIL_TIMEOUT": "3", "STRONGBOX_JOB_SWEEP_SECONDS": "1"}


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    installation = Installation(tmp_path_factory.mktemp("installation"), **FAST_RECOVERY)
    installation.create_users("erin")
    yield installation
    installation.close()


@pytest.fixture(autouse=True)
def no_worker_left(installation):
    """Each test starts the workers it needs and no other."""
    yield
    installation.stop_processes()


def create_document(installation: Installation, title: str) -> int:
    """Upload a text file as erin through the service, as the upload page does; return the document's id."""
    return int(installation.shell(
        "from django.core.files.uploadedfile import SimpleUploadedFile\n"
        "from strongbox.accounts.models import User\n"
        "from strongbox.documents.services import document_create\n"
        "from strongbox.lib.sniff import check_upload\n"
        "upload = SimpleUploadedFile('notes.txt', b'Extracted after a crash. ' * 2000)\n"
        f"document = document_create(owner=User.objects.get(username='erin'), title={title!r}, description='', "
        "category='other', tags=[], upload=upload, kind=check_upload(upload.name, upload))\n"
        "print(document.pk)"))


def extractors(installation: Installation) -> list[tuple[int, int]]:
    """Return (pid, parent pid) of each text extractor reading a file of this installation (not the preview
    renderer, the same program with --render-to, which the document's other job runs)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            if (b"strongbox.documents.extract" in command and str(installation.root).encode() in command
                    and b"--render-to" not in command):
                found.append((int(entry.name), int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])))
        except (OSError, IndexError, ValueError):
            continue
    return found


class ExtractorTrap(threading.Thread):
    """Freeze (SIGSTOP) the installation's next text extractor the moment it appears, mid-extraction."""

    def __init__(self, installation: Installation):
        super().__init__(daemon=True)
        self.installation = installation
        self.caught: tuple[int, int] | None = None
        self.done = threading.Event()
        self.start()

    def run(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.caught:
            for pid, parent in extractors(self.installation):
                os.kill(pid, signal.SIGSTOP)
                self.caught = (pid, parent)
                break
            time.sleep(0.002)
        self.done.set()

    def wait(self) -> tuple[int, int]:
        assert self.done.wait(70) and self.caught, "no text extraction started"
        return self.caught


def text_status(installation: Installation, document_id: int) -> str:
    return installation.query(f"SELECT text_status FROM documents_document WHERE id = {document_id}")[0][0]  # noqa: S608


def notifications(installation: Installation, document_id: int) -> list[str]:
    return [kind for (kind,) in installation.query(
        f"SELECT kind FROM documents_notification WHERE document_id = {document_id}")]  # noqa: S608


def test_a_worker_killed_mid_extraction_leaves_it_to_the_next_worker(installation):
    worker = installation.worker()
    trap = ExtractorTrap(installation)
    document = create_document(installation, "Survives a SIGKILL")
    extractor, parent = trap.wait()  # frozen in the middle of reading the file
    assert parent == worker.pid
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    os.kill(extractor, signal.SIGKILL)
    assert text_status(installation, document) == "pending"
    assert installation.query("SELECT attempts FROM ops_job WHERE kind LIKE '%extract_document_text'")[0][0] == 1

    installation.worker()
    wait_for(lambda: text_status(installation, document) == "ready", "the extraction was not redone")
    assert notifications(installation, document) == ["text_ready"]
    wait_for(lambda: installation.pending_jobs() == 0, "the job was not finished")


def test_serve_stops_its_worker_gracefully_and_the_running_extraction_finishes(installation):
    server = installation.serve(workers=1, worker=True)
    trap = ExtractorTrap(installation)
    document = create_document(installation, "Finished on SIGTERM")
    extractor, _ = trap.wait()
    server.process.send_signal(signal.SIGTERM)  # serve passes it on to the app server and the worker
    time.sleep(1)
    os.kill(extractor, signal.SIGCONT)  # the extraction was still running when the worker was told to stop
    assert server.process.wait(timeout=40) == 0
    assert text_status(installation, document) == "ready"
    # The extraction's job is done; the document's preview job, which waited for the owner's slot, may still wait
    # for the next worker (it is durable).
    assert installation.pending_jobs("extract_document_text") == 0


class Mailbox:
    """An SMTP server's handler whose first message hangs (the server stops answering mid-DATA) until released."""

    def __init__(self):
        self.messages: list[tuple[list[str], str]] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self._hang = True

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self._hang:
            self._hang = False
            self.first_arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Try again later"
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    mailbox.release.set()
    controller.stop()


def test_a_worker_killed_mid_mail_leaves_it_to_the_next_worker(installation, smtp):
    mail = {"STRONGBOX_EMAIL_HOST": "127.0.0.1", "STRONGBOX_EMAIL_PORT": str(smtp.port),
            "STRONGBOX_EMAIL_STARTTLS": "false"}
    worker = installation.worker(**mail)
    installation.shell("from strongbox.accounts.services import password_reset_request\n"
                       "password_reset_request(email='erin@example.com')")
    assert smtp.handler.first_arrived.wait(timeout=60), "the mail was not being sent"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    smtp.handler.release.set()
    assert installation.pending_jobs("send_password_reset_mail") == 1

    installation.worker(**mail)
    wait_for(lambda: smtp.handler.messages, "the mail was not sent again")
    [(recipients, content)] = smtp.handler.messages
    assert recipients == ["erin@example.com"] and "/accounts/password/reset/" in content
    wait_for(lambda: installation.pending_jobs("send_password_reset_mail") == 0, "the job was not finished")
