"""Compare app servers on the same data in one run: gunicorn (gthread) against granian (WSGI).

Scenarios: a small JSON response (/healthz), the 50-document list page, and a 4 MB download. Each server gets
the same number of worker processes and threads; wrk drives it over loopback for a fixed time. Prints requests/s
and p99 latency per scenario and the granian/gunicorn ratio.

    make bench-servers            # or, with the bench group installed: .venv/bin/python bench/servers.py
"""

import argparse
import os
import re
import shutil
import socket
import subprocess  # noqa: S404 - starts the servers under test and wrk, fixed argument lists
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

WORKERS, THREADS = 2, 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed() -> tuple[str, str]:
    """Create a user with 50 documents (one of 4 MB); return a session cookie value and the big document's id."""
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client

    from strongbox.accounts.models import User
    from strongbox.documents.services import document_create
    from strongbox.lib.sniff import check_upload

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    user = User.objects.create_user("bench", "bench@example.com", "bench password 123")
    big = None
    for i in range(50):
        content = (b"word%d " % i) * (600_000 if i == 0 else 200)
        upload = SimpleUploadedFile(f"file{i}.txt", content)
        kind = check_upload(upload.name, upload)
        document = document_create(owner=user, title=f"Document {i}", description="benchmark data",
                                   category="other", tags=["bench", f"t{i % 5}"], upload=upload, kind=kind)
        big = big or document
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, big.public_id


def server_command(name: str, port: int) -> list[str]:
    python = sys.executable
    if name == "gunicorn":
        return [python, "-m", "gunicorn", "strongbox.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", str(WORKERS), "--threads", str(THREADS), "--worker-class", "gthread",
                "--log-level", "warning"]
    return [str(Path(python).parent / "granian"), "--interface", "wsgi", "strongbox.wsgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
            "--blocking-threads", str(THREADS), "--log-level", "warning", "--no-ws"]


def wait_until_up(port: int, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def wrk(url: str, cookie: str, duration: int) -> tuple[float, float]:
    """Return (requests per second, p99 latency in ms)."""
    output = subprocess.run(  # noqa: S603
        [shutil.which("wrk"), "-t2", "-c16", f"-d{duration}s", "--latency", "-H", f"Cookie: sessionid={cookie}", url],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario and server")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    data_dir = tempfile.mkdtemp(prefix="strongbox-bench-")
    os.environ.update(STRONGBOX_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="strongbox.settings",
                      STRONGBOX_LOG_LEVEL="WARNING")
    cookie, big = seed()
    scenarios = {"json /healthz": "/healthz", "list page (50 docs)": "/documents/",
                 "download 4 MB": f"/documents/{big}/download/"}
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for name in ("gunicorn", "granian"):
        port = free_port()
        server = subprocess.Popen(server_command(name, port))  # noqa: S603
        try:
            wait_until_up(port)
            results[name] = {label: wrk(f"http://127.0.0.1:{port}{path}", cookie, args.duration)
                             for label, path in scenarios.items()}
        finally:
            server.terminate()
            server.wait(timeout=30)
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\n{WORKERS} workers x {THREADS} threads each, wrk -t2 -c16 -d{args.duration}s, loopback\n")
    print(f"{'scenario':<22}{'gunicorn req/s':>16}{'p99 ms':>9}{'granian req/s':>16}{'p99 ms':>9}{'ratio':>8}")
    for label in scenarios:
        (g_rps, g_p99), (r_rps, r_p99) = results["gunicorn"][label], results["granian"][label]
        print(f"{label:<22}{g_rps:>16.0f}{g_p99:>9.1f}{r_rps:>16.0f}{r_p99:>9.1f}{r_rps / g_rps:>7.2f}x")


if __name__ == "__main__":
    main()
