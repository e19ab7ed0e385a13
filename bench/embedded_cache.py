"""Compare the embedded shape's cache backends on the same data in one run: the per-process LocMemCache Strongbox
used before (fast, but every process had its own counts, limits and invalidations), the disk cache it uses now
(diskcache: SQLite files shared by every process, atomic add and incr; "disk-reopened" is diskcache's own backend,
which reopens its connections in every request) and Django's database cache on a SQLite
file of its own (shared too, but its incr is a read then a write, so concurrent counters lose counts).

Each backend serves the same 50-document list page from granian with 2 workers x 4 threads, as `strongbox serve`
does; wrk drives it over loopback. /healthz, which touches no cache, is the ceiling measured on the same server.
The figures: requests/s, p99 latency and server CPU time per request (user + system of the server's processes,
the stable one on a noisy machine), and each backend's list-page ratio to LocMemCache. Backends alternate over
`--rounds` rounds; the best round of each is printed.

    .venv/bin/python bench/embedded_cache.py [--duration 10] [--rounds 2]
"""

import argparse
import os
import shutil
import subprocess  # noqa: S404 - starts the servers under test, fixed argument lists
import sys
import tempfile
from pathlib import Path

from servers import free_port, seed, wait_until_up, wrk

BACKENDS = ("locmem", "disk", "disk-reopened", "database")
WORKERS, THREADS = 2, 4


def process_tree_cpu(pid: int) -> float:
    """Return the CPU seconds (user + system) used so far by a process and its live descendants."""
    total, pending = 0.0, [pid]
    ticks = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return total


def measure(backend: str, port: int, url_paths: dict[str, str], cookie: str, duration: int) -> dict:
    server = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "granian"), "--interface", "wsgi", "strongbox.wsgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS), "--blocking-threads", str(THREADS),
         "--log-level", "warning", "--no-ws"], env={**os.environ, "BENCH_CACHE": backend})
    try:
        wait_until_up(port)
        wrk(f"http://127.0.0.1:{port}/documents/", cookie, 2)  # warm up: templates compiled, cache filled
        results = {}
        for label, path in url_paths.items():
            before = process_tree_cpu(server.pid)
            rps, p99 = wrk(f"http://127.0.0.1:{port}{path}", cookie, duration)
            cpu = process_tree_cpu(server.pid) - before
            results[label] = (rps, p99, cpu / (rps * duration) * 1000)
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario and backend")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    data_dir = tempfile.mkdtemp(prefix="strongbox-bench-")
    os.environ.update(STRONGBOX_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="embedded_cache_settings",
                      STRONGBOX_LOG_LEVEL="WARNING", BENCH_CACHE="database",
                      PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("createcachetable", database="cache")  # before seeding, which uses the cache
    cookie, _ = seed()
    paths = {"list page (50 docs)": "/documents/", "ceiling /healthz": "/healthz"}
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for backend in BACKENDS:
            result = measure(backend, free_port(), paths, cookie, args.duration)
            if backend not in best or result[next(iter(paths))][0] > best[backend][next(iter(paths))][0]:
                best[backend] = result
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\ngranian {WORKERS} workers x {THREADS} threads, wrk -t2 -c16 -d{args.duration}s, loopback, "
          f"best of {args.rounds} rounds\n")
    print(f"{'backend':<14}{'scenario':<22}{'req/s':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'vs locmem':>11}")
    for backend in BACKENDS:
        for label in paths:
            rps, p99, cpu = best[backend][label]
            ratio = rps / best["locmem"][label][0]
            print(f"{backend:<14}{label:<22}{rps:>9.0f}{p99:>9.1f}{cpu:>12.2f}{ratio:>10.2f}x")


if __name__ == "__main__":
    main()
