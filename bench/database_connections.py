"""Compare the two PostgreSQL connection strategies on the same data in one run: persistent against pool.

"persistent" (STRONGBOX_DATABASE_CONNECTIONS=persistent) keeps one connection per app-server thread open between
requests; "pool" shares a psycopg pool of STRONGBOX_DATABASE_POOL_SIZE connections among a process's threads.

The benchmark starts a private PostgreSQL and Redis on free loopback ports and seeds one user with 50 documents.
It then runs `strongbox serve --no-worker` (2 workers x 4 threads) once per strategy, both at the same time, and
drives one while the other waits, with wrk for a fixed time per scenario: the 50-document list page, a document's
detail page, the JSON API list and a search; which strategy goes first alternates from scenario to scenario. It
prints requests/s and p99 latency per scenario, the pool/persistent ratio, and the other half of the trade-off: the
server-side connections PostgreSQL saw (peak open and peak active during each scenario, and the connections each
server opened over the whole run), sampled from pg_stat_activity.

Needs PostgreSQL, redis-server and wrk (Debian packages postgresql, redis-server, wrk); as root, PostgreSQL runs as
the `postgres` user. Takes about two minutes with the defaults:

    .venv/bin/python bench/database_connections.py [--duration 10] [--pool-size 4]
"""

import argparse
import os
import re
import shutil
import subprocess  # noqa: S404 - starts the servers under test and wrk, fixed argument lists
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

# The service starters the test suite uses (tests/services), for a private PostgreSQL and Redis.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from services.common import free_port, stop, wait_for_port  # noqa: E402
from services.postgres import PostgresCluster  # noqa: E402
from services.redis import RedisServer  # noqa: E402

WORKERS, THREADS = 2, 4
STRATEGIES = ("persistent", "pool")
WARM_UP_SECONDS = 2
SAMPLE_INTERVAL = 0.25
# The app's connections only: the monitor connects to the "postgres" database, and autovacuum workers are not
# client backends.
ACTIVITY_SQL = ("SELECT application_name, pid, backend_start, state FROM pg_stat_activity "
                "WHERE datname = 'strongbox' AND backend_type = 'client backend'")
SESSIONS_SQL = "SELECT sessions FROM pg_stat_database WHERE datname = 'strongbox'"


@dataclass
class Measurement:
    rps: float
    p99_ms: float
    errors: int  # non-2xx/3xx responses plus socket errors
    peak_open: int = 0
    peak_active: int = 0


@dataclass
class Server:
    strategy: str
    port: int
    process: subprocess.Popen

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def seed() -> tuple[str, str]:
    """Create a user with 50 documents, their text extracted and indexed so a search finds something; return a
    session cookie value and one document's public id."""
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from strongbox.accounts.models import User
    from strongbox.documents.services import document_create
    from strongbox.lib.sniff import check_upload

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    user = User.objects.create_user("bench", "bench@example.com", "bench password 123")
    documents = []
    for i in range(50):
        upload = SimpleUploadedFile(f"file{i}.txt", (b"word%d " % i) * 200)
        kind = check_upload(upload.name, upload)
        documents.append(document_create(owner=user, title=f"Document {i}", description="benchmark data",
                                         category="other", tags=["bench", f"t{i % 5}"], upload=upload, kind=kind))
    client = Client()
    client.force_login(user)
    # Leave PostgreSQL with the servers' connections only, so that is what the samples count.
    connections.close_all()
    return client.cookies["sessionid"].value, documents[1].public_id


def start_server(strategy: str, pool_size: int, log: Path) -> Server:
    port = free_port()
    env = {**os.environ, "STRONGBOX_DATABASE_CONNECTIONS": strategy, "STRONGBOX_DATABASE_POOL_SIZE": str(pool_size),
           # libpq labels the server's connections with it, so pg_stat_activity tells the two servers apart.
           "PGAPPNAME": strategy,
           # wrk makes thousands of API calls a second as one user: the default limit (600 a minute) would answer
           # most of them with 429.
           "STRONGBOX_API_RATE_LIMIT": "1000000000"}
    env.pop("STRONGBOX_TASKS_IMMEDIATE", None)  # for seeding only; the server runs tasks as in production
    command = [sys.executable, "-m", "strongbox", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(WORKERS), "--threads", str(THREADS)]
    # The access log goes to a file: on the terminal it would drown the results.
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    return Server(strategy, port, process)


def check_pages(server: Server, cookie: str, paths: dict[str, str]) -> None:
    """Fail unless every page answers 200 to the session: wrk counts the redirect to the sign-in page as a
    success, and would happily measure that instead."""
    for path in paths.values():
        request = urllib.request.Request(server.url(path), headers={"Cookie": f"sessionid={cookie}"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status != 200 or response.url != server.url(path):
                raise RuntimeError(f"{server.strategy}: {path} answered {response.status} at {response.url}")


def wrk(url: str, cookie: str, duration: int) -> Measurement:
    output = subprocess.run(  # noqa: S603
        [shutil.which("wrk"), "-t2", "-c16", f"-d{duration}s", "--latency", "-H", f"Cookie: sessionid={cookie}", url],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return Measurement(rps, float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], errors)


class ConnectionMonitor:
    """Samples pg_stat_activity in a background thread for the whole run: every connection each server opened
    (by pid and start time, so a reused pid still counts), and the peaks since the last reset."""

    def __init__(self, url: str):
        self.url = url
        self.sessions: dict[str, set] = {strategy: set() for strategy in STRATEGIES}
        self.peaks: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def reset_peaks(self) -> None:
        with self._lock:
            self.peaks = {strategy: (0, 0) for strategy in STRATEGIES}

    def _sample_until_stopped(self):
        # Autocommit: pg_stat_activity is a snapshot taken once per transaction.
        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.is_set():
                rows = connection.execute(ACTIVITY_SQL).fetchall()
                with self._lock:
                    for strategy in STRATEGIES:
                        mine = [(pid, start, state) for name, pid, start, state in rows if name == strategy]
                        self.sessions[strategy].update((pid, start) for pid, start, _ in mine)
                        active = sum(state == "active" for *_, state in mine)
                        peak_open, peak_active = self.peaks.get(strategy, (0, 0))
                        self.peaks[strategy] = (max(peak_open, len(mine)), max(peak_active, active))
                self._stop.wait(SAMPLE_INTERVAL)


def sessions_opened(url: str, timeout: float = 15) -> int:
    """Wait until no app connection is left, then return the sessions PostgreSQL ever opened on its database."""
    with psycopg.connect(url, autocommit=True) as connection:
        deadline = time.monotonic() + timeout
        while connection.execute(ACTIVITY_SQL).fetchall() and time.monotonic() < deadline:
            time.sleep(0.1)
        # A backend leaves pg_stat_activity just before it flushes its statistics on exit.
        time.sleep(0.5)
        return connection.execute(SESSIONS_SQL).fetchone()[0]


def measure(servers: dict[str, Server], paths: dict[str, str], cookie: str, monitor: ConnectionMonitor,
            duration: int) -> dict[str, dict[str, Measurement]]:
    """Drive each scenario on one server, then on the other, swapping who goes first from one scenario to the
    next, so a drift in the machine's speed (other load, CPU boost) does not favour either strategy."""
    results: dict[str, dict[str, Measurement]] = {strategy: {} for strategy in STRATEGIES}
    for number, (label, path) in enumerate(paths.items()):
        for strategy in STRATEGIES if number % 2 == 0 else STRATEGIES[::-1]:
            monitor.reset_peaks()
            measurement = wrk(servers[strategy].url(path), cookie, duration)
            measurement.peak_open, measurement.peak_active = monitor.peaks[strategy]
            results[strategy][label] = measurement
    return results


def benchmark(paths: dict[str, str], cookie: str, database_url: str, args: argparse.Namespace,
              log_dir: Path) -> tuple[dict[str, dict[str, Measurement]], dict[str, int], int]:
    """Run both servers side by side (the idle one waits) and measure them; return the measurements, the
    connections each server opened as sampled, and the sessions PostgreSQL counted in all."""
    before = sessions_opened(database_url)
    servers: dict[str, Server] = {}
    try:
        with ConnectionMonitor(database_url) as monitor:
            for strategy in STRATEGIES:
                servers[strategy] = start_server(strategy, args.pool_size, log_dir / f"{strategy}.log")
            for server in servers.values():
                wait_for_port(server.port, server.process, timeout=60, log=log_dir / f"{server.strategy}.log")
                check_pages(server, cookie, paths)
                # Open the connections and load the code before measuring: the steady state is what's compared.
                wrk(server.url(paths["list page (50 docs)"]), cookie, WARM_UP_SECONDS)
            results = measure(servers, paths, cookie, monitor, args.duration)
    finally:
        for server in servers.values():
            stop(server.process, timeout=30)
    sampled = {strategy: len(sessions) for strategy, sessions in monitor.sessions.items()}
    return results, sampled, sessions_opened(database_url) - before


def report(results: dict[str, dict[str, Measurement]], sampled: dict[str, int], counted: int,
           args: argparse.Namespace) -> None:
    print(f"\n{WORKERS} workers x {THREADS} threads each, pool size {args.pool_size} per worker, "
          f"wrk -t2 -c16 -d{args.duration}s, loopback\n")
    print(f"{'scenario':<22}{'persistent req/s':>17}{'p99 ms':>9}{'conns':>7}"
          f"{'pool req/s':>12}{'p99 ms':>9}{'conns':>7}{'pool/persistent':>17}")
    for label, p in results["persistent"].items():
        q = results["pool"][label]
        print(f"{label:<22}{p.rps:>17.0f}{p.p99_ms:>9.1f}{f'{p.peak_open}/{p.peak_active}':>7}"
              f"{q.rps:>12.0f}{q.p99_ms:>9.1f}{f'{q.peak_open}/{q.peak_active}':>7}{q.rps / p.rps:>16.2f}x")
    print(f"\nconns: peak PostgreSQL connections open/active during the scenario (sampled every {SAMPLE_INTERVAL} s)")
    print(f"connections opened over the run: persistent {sampled['persistent']}, pool {sampled['pool']} "
          f"(sampled); PostgreSQL counted {counted} sessions in all")
    for strategy, measurements in results.items():
        for label, measurement in measurements.items():
            if measurement.errors:
                print(f"WARNING: {strategy}, {label}: {measurement.errors} errors (non-2xx/3xx or socket)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario and strategy")
    parser.add_argument("--pool-size", type=int, default=4, help="STRONGBOX_DATABASE_POOL_SIZE for the pool server")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    started = time.monotonic()
    cluster, redis = PostgresCluster(), RedisServer()
    data_dir = Path(tempfile.mkdtemp(prefix="strongbox-bench-"))
    try:
        cluster.start()  # the replica is started too, but unused: no DATABASE_REPLICA_URLS
        redis.start()
        os.environ.update(DATABASE_URL=cluster.primary.url(), REDIS_URL=redis.url, STRONGBOX_DATA_DIR=str(data_dir),
                          DJANGO_SETTINGS_MODULE="strongbox.settings", STRONGBOX_LOG_LEVEL="WARNING",
                          STRONGBOX_TASKS_IMMEDIATE="true")
        cookie, document = seed()
        paths = {"list page (50 docs)": "/documents/", "detail page": f"/documents/{document}/",
                 "API list (JSON)": "/api/v1/documents", "search ?q=word1": "/documents/?q=word1"}
        results, sampled, counted = benchmark(paths, cookie, cluster.primary.url("postgres"), args, data_dir)
    finally:
        redis.close()
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    report(results, sampled, counted, args)
    print(f"total time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
