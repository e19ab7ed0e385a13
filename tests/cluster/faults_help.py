"""What the fault tests share: accounts made with Strongbox's own commands against a running cluster, a
signed-in session, work run in a background thread while a fault is injected, uploads that keep a ledger of what
the server acknowledged, and a PDF slow enough to extract that a worker can be killed in the middle of it."""

import hashlib
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import openload
import requests
from running import ROOT, RunningCluster

PASSWORD = "correct horse battery staple"


def manage_environment(cluster: RunningCluster) -> dict[str, str]:
    """The environment the cluster gives its own Strongbox processes (plan.app_environment), without the replica:
    a command that writes and then reads must not read a replica that has not caught up yet."""
    document = cluster.status()
    return {**cluster.env, "DATABASE_URL": document["database"]["primary"], "REDIS_URL": document["redis"],
            "STRONGBOX_STORAGE": "local", "STRONGBOX_DATA_DIR": str(cluster.root / "data"),
            "STRONGBOX_SECRET_KEY_FILE": str(cluster.root / "secrets" / "secret_key")}


def manage(cluster: RunningCluster, *args: str, **environment: str) -> str:
    """Run `strongbox ARGS` against the cluster's data tier; return what it printed."""
    result = subprocess.run([sys.executable, "-m", "strongbox", *args], cwd=ROOT,  # noqa: S603 - our own command
                            env={**manage_environment(cluster), **environment}, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"strongbox {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Account:
    username: str
    api_key: str
    password: str = PASSWORD


def create_account(cluster: RunningCluster, username: str) -> Account:
    """An active account made by `createuser`, with a read-write API key made by the service the key page uses."""
    manage(cluster, "createuser", "--username", username, "--email", f"{username}@example.com",
           STRONGBOX_PASSWORD=PASSWORD)
    key = manage(cluster, "shell", "-c", (
        "from strongbox.accounts.models import User\n"
        "from strongbox.accounts.services import api_key_create\n"
        f"user = User.objects.get(username={username!r})\n"
        "print(api_key_create(user=user, name='fault tests', scope='write')[1])\n")).strip().splitlines()[-1]
    return Account(username, key)


def sign_in(base_url: str, account: Account) -> dict[str, str]:
    """Sign in through the login form, as a browser does; return the cookies (session and CSRF)."""
    browser = requests.Session()
    page = browser.get(f"{base_url}/accounts/login/", timeout=30)
    assert page.status_code == 200, page.text[:300]
    answer = browser.post(f"{base_url}/accounts/login/", timeout=30, allow_redirects=False,
                          headers={"Referer": f"{base_url}/accounts/login/"},
                          data={"username": account.username, "password": account.password,
                                "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert answer.status_code == 302, f"sign-in answered {answer.status_code}: {answer.text[:300]}"
    return dict(browser.cookies)


class Background:
    """Call `function(*args, **kwargs)` in a thread; `.result()` waits for its return value (or raises its error)."""

    def __init__(self, function, *args, **kwargs):
        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(function, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, function, args, kwargs):
        try:
            self._value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - raised again in the test's thread by result()
            self._error = error

    def result(self, timeout: float = 120):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the background work did not end within {timeout} s"
        if self._error is not None:
            raise self._error
        return self._value


class Load:
    """Open-model load (bench/openload.py) through the balancer from now until `.stop()`, so a test need not guess
    how long its fault takes. It is sent in chunks of `chunk` seconds, each started on its own schedule in a thread
    of its own whether the one before has had all its answers or not: waiting for a stalled chunk's last answers
    would leave a hole in the schedule exactly where the fault is. Times in the report count from `Load.zero`."""

    def __init__(self, base_url: str, rate: float, requests, *, chunk: float = 4.0, **options):
        self.zero = time.perf_counter()
        self._stop = threading.Event()
        self._chunks: list[Background] = []
        self._arguments = (base_url, rate, chunk, requests, options)
        self._scheduler = threading.Thread(target=self._schedule, daemon=True)
        self._scheduler.start()

    def now(self) -> float:
        return time.perf_counter() - self.zero

    def _schedule(self) -> None:
        chunk = self._arguments[2]
        index = 0
        while not self._stop.is_set():
            self._chunks.append(Background(self._chunk))
            index += 1
            self._stop.wait(max(0.0, index * chunk - self.now()))

    def _chunk(self) -> list[openload.Result]:
        base_url, rate, chunk, requests, options = self._arguments
        offset = self.now()
        report = openload.run(base_url, rate, chunk, requests, **options)
        return [replace(result, intended=result.intended + offset, started=result.started + offset)
                for result in report.results]

    def stop(self) -> openload.Report:
        """Send no further chunk, wait for every answer, and return one report of the whole run."""
        self._stop.set()
        self._scheduler.join(timeout=30)
        results = [result for chunk in self._chunks for result in chunk.result()]
        rate, chunk = self._arguments[1], self._arguments[2]
        return openload.Report(rate=rate, duration=len(self._chunks) * chunk, results=results)


def between(report: openload.Report, start: float, end: float) -> openload.Report:
    """The part of a load's report whose requests were due from `start` to `end` (seconds since Load.zero)."""
    return openload.Report(rate=report.rate, duration=max(end - start, 0.0),
                           results=[result for result in report.results if start <= result.intended < end])


@dataclass
class Upload:
    title: str
    sha256: str
    status: int | None = None  # None: the request failed before an answer (connection reset, timeout)
    error: str = ""
    document_id: str = ""


@dataclass
class Ledger:
    """Every upload tried, in order, with what its client was told."""

    uploads: list[Upload] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, upload: Upload) -> None:
        with self._lock:
            self.uploads.append(upload)

    @property
    def acknowledged(self) -> list[Upload]:
        return [upload for upload in self.uploads if upload.status == 201]

    @property
    def refused(self) -> list[Upload]:
        return [upload for upload in self.uploads if upload.status != 201]


def upload_one(base_url: str, account: Account, title: str, content: bytes, *, extension: str = "txt",
               content_type: str = "text/plain", timeout: float = 30) -> Upload:
    """POST one file (a text file unless told) through the API and record the answer: 201 with the stored
    SHA-256, or the failure."""
    upload = Upload(title, hashlib.sha256(content).hexdigest())
    try:
        # A fresh connection per upload: a kept-alive connection to a killed server would fail them in pairs.
        answer = requests.post(f"{base_url}/api/v1/documents", timeout=timeout,
                               headers={"Authorization": f"Bearer {account.api_key}", "Connection": "close"},
                               data={"title": title, "category": "other"},
                               files={"file": (f"{title}.{extension}", content, content_type)})
    except requests.RequestException as error:
        upload.error = f"{type(error).__name__}: {error}"[:200]
        return upload
    upload.status = answer.status_code
    if answer.status_code == 201:
        body = answer.json()
        upload.document_id = body["id"]
        # The server says what it stored; that it is what was sent is checked again by downloading it.
        assert body["sha256"] == upload.sha256, (title, body)
    else:
        upload.error = answer.text[:200]
    return upload


def upload_while(stop: threading.Event, base_url: str, account: Account, ledger: Ledger, *, uploaders: int = 2,
                 size: int = 256 * 1024, pause: float = 0.05) -> int:
    """Keep `uploaders` clients uploading (closed loop, each its next file once answered) until `stop` is set;
    return how many uploads were tried. Files are text (hex) of `size` bytes, each different."""
    counter = iter(range(10**9))
    lock = threading.Lock()

    def client():
        while not stop.is_set():
            with lock:
                number = next(counter)
            content = secrets.token_hex(size // 2).encode()
            ledger.add(upload_one(base_url, account, f"fault-{os.getpid()}-{time.time_ns()}-{number}", content))
            stop.wait(pause)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(uploaders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return next(counter)


def check_downloads(base_url: str, account: Account, acknowledged: list[Upload]) -> tuple[int, list[str]]:
    """Download every document the account has, once: each acknowledged upload must be there with the bytes that
    were sent, and every document, acknowledged or not, must hold the file its SHA-256 describes (an upload cut off
    half-way must not leave half a file behind a document). Return (documents, a line for each mismatch)."""
    digests: dict[str, str] = {}
    wrong = []
    with requests.Session() as client:
        client.headers["Authorization"] = f"Bearer {account.api_key}"
        page, pages = 1, 1
        while page <= pages:
            listing = client.get(f"{base_url}/api/v1/documents", params={"page": page, "page_size": 100},
                                 timeout=30).json()
            for document in listing["results"]:
                answer = client.get(f"{base_url}{document['content_url']}", timeout=30)
                digests[document["id"]] = hashlib.sha256(answer.content).hexdigest() if answer.ok else ""
                if digests[document["id"]] != document["sha256"]:
                    wrong.append(f"{document['title']} ({document['id']}): {answer.status_code}, the file differs "
                                 "from its SHA-256")
            page, pages = page + 1, listing["pages"]
    wrong += [f"{upload.title} ({upload.document_id}): acknowledged, but "
              + ("missing" if upload.document_id not in digests else "not the bytes sent")
              for upload in acknowledged if digests.get(upload.document_id) != upload.sha256]
    return len(digests), wrong


def extracting_worker(worker_pids: dict[str, int]) -> str | None:
    """The name of the worker whose extraction child (`python -m strongbox.documents.extract`) is running, if any."""
    by_pid = {pid: name for name, pid in worker_pids.items()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if b"strongbox.documents.extract" in command and parent in by_pid:
            return by_pid[parent]
    return None
