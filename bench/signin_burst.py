"""Another user's latency during a burst of failed sign-ins, on a real `strongbox serve` (production profile, HTTPS,
two workers of four threads: the defaults).

A failed sign-in is padded to a one-second floor so its timing does not tell which accounts exist. The burst is
40 wrong passwords posted at once (sign-in forms fetched beforehand); meanwhile alice calls /api/v1/me with her
API key, one call after another, until the burst has been answered. Prints her latency when idle and during the
burst, and what the burst got, for this working tree and, with --before, for another revision side by side.

    .venv/bin/python bench/signin_burst.py --before 083d6c2    # the commit before the fix
"""

import argparse
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess  # noqa: S404 - starts the server under test, openssl and git, fixed argument lists
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench's own throw-away account
BURST = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def export(revision: str, into: Path) -> Path:
    """Write `revision`'s code, templates and static files into `into` (no change to the checkout); return it."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src", "templates", "static"],  # noqa: S603,S607
                             check=True, capture_output=True).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)  # noqa: S603,S607
    return into


class Server:
    def __init__(self, tree: Path, root: Path):
        self.port = free_port()
        self.url = f"https://localhost:{self.port}"
        self.certificate, key = root / "cert.pem", root / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",  # noqa: S603,S607
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", str(key), "-out", str(self.certificate)], check=True, capture_output=True)
        from cryptography.fernet import Fernet

        self.env = {**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
                    "PYTHONPATH": str(tree / "src"), "STRONGBOX_ENV": "production",
                    "STRONGBOX_SECRET_KEY": secrets.token_urlsafe(50), "STRONGBOX_ALLOWED_HOSTS": "localhost",
                    "STRONGBOX_SITE_URL": self.url, "STRONGBOX_TOTP_KEYS": Fernet.generate_key().decode(),
                    "STRONGBOX_DATA_DIR": str(root / "data"), "STRONGBOX_LOG_LEVEL": "WARNING",
                    "STRONGBOX_LOGIN_FAILURES_PER_ADDRESS": "1000", "DJANGO_SETTINGS_MODULE": "strongbox.settings"}
        self.run("migrate", "--noinput")
        self.run("collectstatic", "--noinput")
        self.run("createuser", "--username", "alice", "--email", "alice@example.com", STRONGBOX_PASSWORD=PASSWORD)
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "strongbox", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "2", "--threads", "4", "--no-worker", "--tls-certificate", str(self.certificate),
             "--tls-key", str(key)], env=self.env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.session().get(self.url + "/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.3)

    def run(self, *args, **env):
        subprocess.run([sys.executable, "-m", "strongbox", *args], env={**self.env, **env},  # noqa: S603
                       check=True, capture_output=True)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.certificate)
        session.headers["Referer"] = self.url + "/"
        return session

    def token(self, session: requests.Session, path: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(self.url + path).text).group(1)

    def api_key(self) -> str:
        session = self.session()
        token = self.token(session, "/accounts/login/")
        session.post(self.url + "/accounts/login/",
                     data={"csrfmiddlewaretoken": token, "username": "alice", "password": PASSWORD})
        page = session.post(self.url + "/accounts/keys/", data={
            "csrfmiddlewaretoken": self.token(session, "/accounts/keys/"), "name": "bench", "scope": "read"})
        return re.search(r'id="new-key">([^<]+)<', page.text).group(1)


def measure(server: Server) -> dict:
    api = server.session()
    api.headers["Authorization"] = f"Bearer {server.api_key()}"
    me = server.url + "/api/v1/me"

    def timed() -> float:
        started = time.monotonic()
        api.get(me, timeout=60).raise_for_status()
        return time.monotonic() - started

    idle = [timed() for _ in range(20)]
    forms = []
    for i in range(BURST):
        session = server.session()
        forms.append((session, server.token(session, "/accounts/login/"), f"nobody{i}"))
    barrier = threading.Barrier(BURST)

    def attempt(form) -> tuple[int, float]:
        session, token, name = form
        barrier.wait()
        started = time.monotonic()
        status = session.post(server.url + "/accounts/login/", allow_redirects=False, data={
            "csrfmiddlewaretoken": token, "username": name, "password": "wrong password 123"}).status_code
        return status, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        started = time.monotonic()
        burst = [pool.submit(attempt, form) for form in forms]
        time.sleep(0.2)
        during = []
        while not all(future.done() for future in burst) or not during:
            during.append(timed())
        answered = time.monotonic() - started
    results = [future.result() for future in burst]
    return {"idle": idle, "during": during, "answered": answered,
            "statuses": Counter(status for status, _ in results), "slowest": max(took for _, took in results)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="a revision to measure too, e.g. the commit before the fix")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    figures = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.before:
            trees = {args.before: export(args.before, Path(scratch, "before")), **trees}
        for name, tree in trees.items():
            server = Server(tree, Path(tempfile.mkdtemp(dir=scratch)))
            try:
                figures[name] = measure(server)
            finally:
                server.stop()

    def ms(value: float) -> str:
        return f"{value * 1000:,.0f} ms"

    rows = [
        ("/api/v1/me idle, median", lambda f: ms(statistics.median(f["idle"]))),
        ("/api/v1/me during the burst, median", lambda f: ms(statistics.median(f["during"]))),
        ("/api/v1/me during the burst, max", lambda f: ms(max(f["during"]))),
        ("/api/v1/me calls during the burst", lambda f: str(len(f["during"]))),
        (f"{BURST} failed sign-ins all answered after", lambda f: ms(f["answered"])),
        ("slowest failed sign-in", lambda f: ms(f["slowest"])),
        ("their answers", lambda f: ", ".join(f"{n}×{s}" for s, n in sorted(f["statuses"].items()))),
    ]
    print(f"{'':40}" + "".join(f"{name:>22}" for name in figures))
    for label, cell in rows:
        print(f"{label:40}" + "".join(f"{cell(f):>22}" for f in figures.values()))


if __name__ == "__main__":
    main()
