"""Strongbox as an operator runs it, for tests that need several real processes: an installation in a directory
of its own, driven through its commands (`migrate`, `serve`, `worker`, `shell`), and a browser-like client that
opens a new connection for every request, so consecutive requests land on different app-server workers.

In the scale-out pass the installation gets a database, a Redis database and a bucket of its own on the session's
services (tests/services/session.py), so its processes share exactly what a cluster's would.
"""

import itertools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import redis
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from services.common import free_port, log_tail

_redis_databases = itertools.count(1)
PASSWORD = "correct horse battery staple"


class Installation:
    """One Strongbox installation: a data directory (embedded) or its own share of the session's services."""

    def __init__(self, root: Path, **environment: str):
        self.root = root
        self.processes: list[subprocess.Popen] = []
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_DATA_DIR": str(root),
                    "STRONGBOX_ENV": "test", "STRONGBOX_LOG_LEVEL": "INFO",
                    "STRONGBOX_LOGIN_FAILURE_MIN_MILLISECONDS": "0", **environment}
        self._database = None
        if settings.SCALE_OUT_RUN:
            self._share_services()
        self.manage("migrate", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")

    def _share_services(self):
        from services import session

        self._database = f"processes_{uuid.uuid4().hex[:12]}"
        session.postgres.primary.psql(f"CREATE DATABASE {self._database}")
        bucket = f"processes-{uuid.uuid4().hex[:12]}"
        session.swift.create_bucket(bucket)
        redis_url = f"{session.redis.url.rsplit('/', 1)[0]}/{next(_redis_databases) % 16 or 1}"
        redis.Redis.from_url(redis_url).flushdb()
        self.env.update(DATABASE_URL=session.postgres.primary.url(self._database),
                        DATABASE_REPLICA_URLS=session.postgres.replica.url(self._database),
                        REDIS_URL=redis_url, STRONGBOX_S3_BUCKET=bucket)

    def manage(self, *args: str, **environment: str) -> str:
        """Run a `strongbox` command to completion; return its output."""
        result = subprocess.run([sys.executable, "-m", "strongbox", *args], env={**self.env, **environment},  # noqa: S603
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"strongbox {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        return result.stdout

    def shell(self, code: str) -> str:
        """Run Python inside the installation (with its settings and database); return what it printed."""
        return self.manage("shell", "--no-imports", "-c", code).strip()

    def create_users(self, *usernames: str) -> None:
        """Create active accounts named `usernames`, with addresses <name>@example.com and the test password."""
        self.shell("from strongbox.accounts.services import user_create\n"
                   f"for name in {list(usernames)!r}:\n"
                   f"    user_create(username=name, email=name + '@example.com', password={PASSWORD!r})")

    def query(self, sql: str) -> list[tuple]:
        """Run one SQL query on the installation's database (its primary) and return the rows."""
        if self._database is None:
            with sqlite3.connect(self.root / "strongbox.sqlite3") as connection:
                return connection.execute(sql).fetchall()
        with psycopg.connect(self.env["DATABASE_URL"]) as connection:
            return connection.execute(sql).fetchall()

    def start(self, *args: str, name: str, **environment: str) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "strongbox", *args],  # noqa: S603
                                   env={**self.env, **environment}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        process.log = Path(log.name)
        self.processes.append(process)
        return process

    def serve(self, *, workers: int = 2, worker: bool = False, **environment: str) -> "AppServer":
        """Start `strongbox serve` (without its task worker unless asked) and wait until it answers."""
        port = free_port()
        args = ["serve", "--port", str(port), "--workers", str(workers)] + ([] if worker else ["--no-worker"])
        server = AppServer(self.start(*args, name=f"serve-{port}", **environment), port)
        server.wait_until_up()
        return server

    def worker(self, **environment: str) -> subprocess.Popen:
        """Start `strongbox worker` and wait until its consumer runs."""
        process = self.start("worker", name=f"worker-{len(self.processes)}", **environment)
        wait_for(lambda: "consumer started" in process.log.read_text(errors="replace").lower(),
                 f"the worker did not start: {log_tail(process.log)}", process=process)
        return process

    def pending_jobs(self, kind: str = "") -> int:
        """Return how many jobs are left (of the kinds whose name ends with `kind`, when given)."""
        assert kind.replace("_", "").isalnum() or not kind
        return self.query(f"SELECT count(*) FROM ops_job WHERE kind LIKE '%{kind}'")[0][0]  # noqa: S608

    def stop_processes(self) -> None:
        """Stop every server and worker started so far (SIGTERM, then SIGKILL after 30 s)."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def close(self) -> None:
        self.stop_processes()
        if self._database:
            from services import session

            with psycopg.connect(session.postgres.primary.url("postgres"), autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {self._database} WITH (FORCE)")


class AppServer:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.url = f"http://127.0.0.1:{port}"

    def wait_until_up(self):
        def up():
            try:
                return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, f"the app server did not answer: {log_tail(self.process.log)}", process=self.process)


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


class Browser:
    """A cookie-keeping client that opens a new connection per request, spread over the given app servers, from
    its own loopback address (127.0.0.0/8 is all loopback), so limits per client address do not mix between
    browsers."""

    def __init__(self, *servers: AppServer, address: str = "127.0.0.1"):
        self.servers = itertools.cycle(servers)
        self.session = requests.Session()
        self.session.mount("http://", _FromAddress(address))

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = next(self.servers).url + path
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        if method == "POST":
            headers.setdefault("Referer", url)
            kwargs.setdefault("data", {})["csrfmiddlewaretoken"] = self._csrf_token(path)
        return self.session.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        return self.request("POST", path, data=dict(data), **kwargs)

    def _csrf_token(self, path: str) -> str:
        if "csrftoken" not in self.session.cookies:
            self.get("/accounts/login/")
        return self.session.cookies["csrftoken"]

    def sign_in(self, username: str = "alice", password: str = PASSWORD) -> requests.Response:
        return self.post("/accounts/login/", {"username": username, "password": password})


def totals(page: requests.Response) -> str:
    """The list page's "N documents · size used" line."""
    return re.search(r'<p class="totals">([^<]*)</p>', page.text).group(1)


def wait_for(condition, message: str, *, timeout: float = 30, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {message}")
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.1)
