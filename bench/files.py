"""File throughput through the real app server: download and upload of one large file over loopback.

Starts `strongbox serve --no-worker` on a fresh data directory (SQLite, local file store) and, beside it, the same
granian serving a bare WSGI app (it streams the file in 64 KB blocks and reads a body and drops it: the ceiling of
the app server). Signs a user in, then measures with curl, interleaved, `--rounds` times: a whole-file download, a
ranged download of all but the first byte, an upload through the web form and one through the API (multipart),
and the bare app's download and upload. Prints MB/s (10**6 bytes a second) per scenario, the median of the
rounds, its ratio to the bare app's, the worker's CPU time per request (the steady figure on a busy machine) and
its peak RSS.

    .venv/bin/python bench/files.py                 # 256 MB, 3 rounds, 1 worker
    .venv/bin/python bench/files.py --size-mb 64 --rounds 5 --json

The budgets of issue 11 are >= 1000 MB/s for the download and >= 250 MB/s for the uploads; --check exits 1 when a
median misses its budget (timings belong in a benchmark, not in the test suite).
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess  # noqa: S404 - starts the server under test and curl, fixed argument lists
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from budget_load import incompressible_pdf
from budget_services import free_port

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway account in a throwaway directory
BUDGETS = {"download": 1000, "download (range)": 1000, "upload (form)": 250, "upload (api)": 250}


def bare_app(environ, start_response):
    """The ceiling: granian's WSGI with no Django. GET streams the file in 64 KB blocks, POST drops the body."""
    if environ["REQUEST_METHOD"] == "POST":
        stream, received = environ["wsgi.input"], 0
        while chunk := stream.read(256 * 1024):
            received += len(chunk)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(received).encode()]
    path = os.environ["STRONGBOX_BENCH_FILE"]
    start_response("200 OK", [("Content-Type", "application/pdf"), ("Content-Length", str(os.path.getsize(path)))])
    return _blocks(path)


def _blocks(path: str):
    with open(path, "rb") as file:
        while block := file.read(64 * 1024):
            yield block


class Process:
    """A server this benchmark started, in a session of its own, logging to a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, ready: str, data: bytes | None = None):
        self.log_path = log
        self.log = log.open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT,  # noqa: S603
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while not self._answers(ready, data):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{command[2:4]} did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    @staticmethod
    def _answers(url: str, data: bytes | None) -> bool:
        try:
            with urllib.request.urlopen(url, data=data, timeout=1) as response:  # noqa: S310 - our loopback server
                return response.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    def workers(self) -> list[int]:
        """The app server's worker processes: the leaves of the process tree (granian's main process forks them;
        serve starts granian)."""
        leaves, parents = [], children(self.process.pid)
        while parents:
            pid = parents.pop()
            below = children(pid)
            parents += below
            leaves += [] if below else [pid]
        return leaves

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Server(Process):
    """A Strongbox installation in a temporary directory and its `strongbox serve --no-worker`."""

    def __init__(self, root: Path, workers: int, environment: dict[str, str]):
        self.root = root
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_DATA_DIR": str(root),
                    "STRONGBOX_ENV": "test", "STRONGBOX_LOG_LEVEL": "WARNING",
                    "STRONGBOX_MAX_UPLOAD_SIZE": "2GB", "STRONGBOX_QUOTA_BYTES": "100GB", **environment}
        self.manage("migrate", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")
        self.api_key = self.manage("shell", "--no-imports", "-c", (
            "from strongbox.accounts.services import user_create, api_key_create\n"
            f"user = user_create(username='bench', email='bench@example.com', password={PASSWORD!r})\n"
            "print(api_key_create(user=user, name='bench', scope='write')[1])")).strip().splitlines()[-1]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        super().__init__([sys.executable, "-m", "strongbox", "serve", "--no-worker", "--port", str(port),
                          "--workers", str(workers)], self.env, root / "serve.log", f"{self.url}/healthz")

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "strongbox", *args], env=self.env,  # noqa: S603
                                capture_output=True, text=True, timeout=300, check=False)
        if result.returncode:
            raise SystemExit(f"strongbox {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout


class BareServer(Process):
    """granian serving bare_app, with the options `strongbox serve` gives it."""

    def __init__(self, root: Path, sample: Path, workers: int):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "STRONGBOX_BENCH_FILE": str(sample),
               "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
        super().__init__([sys.executable, "-m", "granian", "--interface", "wsgi", "files:bare_app", "--host",
                          "127.0.0.1", "--port", str(port), "--workers", str(workers), "--blocking-threads", "4",
                          "--no-ws"], env, root / "bare.log", self.url, data=b"")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set since it started or since reset_peak_rss."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: set VmHWM to the current RSS


def curl(*args: str) -> tuple[str, float, float, str]:
    """Run curl; return the HTTP status, the total time, the bytes sent or received (whichever is larger) and the
    Location header."""
    result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",  # noqa: S603,S607
                             "%{http_code} %{time_total} %{size_upload} %{size_download} %header{location}", *args],
                            capture_output=True, text=True, check=False, timeout=600)
    if result.returncode:
        raise SystemExit(f"curl failed: {result.stderr}")
    status, total, uploaded, downloaded, *location = result.stdout.split()
    return status, float(total), max(float(uploaded), float(downloaded)), "".join(location)


class Client:
    def __init__(self, server: Server, cookies: Path):
        self.server, self.cookies = server, cookies
        self.titles = 0
        login = f"{server.url}/accounts/login/"
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "-c", str(cookies), login], check=True)  # noqa: S603,S607
        status, *_ = curl("-b", str(cookies), "-c", str(cookies), "-H", f"Referer: {login}",
                            "--data-urlencode", f"csrfmiddlewaretoken={self.csrf()}", "--data-urlencode",
                            "username=bench", "--data-urlencode", f"password={PASSWORD}", login)
        if status != "302":
            raise SystemExit(f"sign-in answered {status}")

    def csrf(self) -> str:
        for line in self.cookies.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) == 7 and fields[5] == "csrftoken":
                return fields[6]
        raise SystemExit("no CSRF cookie")

    def _title(self) -> str:
        self.titles += 1
        return f"bench file {self.titles}"

    def upload_form(self, path: Path) -> tuple[float, float, str]:
        """Upload through the web form; return the time, the bytes sent and the document's id."""
        url = f"{self.server.url}/documents/upload/"
        status, total, size, location = curl("-b", str(self.cookies), "-H", f"Referer: {url}", "-H", "Expect:",
                                   "-F", f"csrfmiddlewaretoken={self.csrf()}", "-F", f"title={self._title()}",
                                   "-F", "category=other", "-F", f"file=@{path};type=application/pdf", url)
        if status != "302":
            raise SystemExit(f"the form upload answered {status}")
        return total, size, location.rstrip("/").rsplit("/", 1)[-1]

    def upload_api(self, path: Path) -> tuple[float, float, str]:
        status, total, size, location = curl("-H", f"Authorization: Bearer {self.server.api_key}", "-H", "Expect:",
                                   "-F", f"title={self._title()}", "-F", "category=other",
                                   "-F", f"file=@{path};type=application/pdf", f"{self.server.url}/api/v1/documents")
        if status != "201":
            raise SystemExit(f"the API upload answered {status}")
        return total, size, location.rstrip("/").rsplit("/", 1)[-1]

    def delete(self, public_id: str) -> None:
        status, *_ = curl("-X", "DELETE", "-H", f"Authorization: Bearer {self.server.api_key}",
                          f"{self.server.url}/api/v1/documents/{public_id}")
        if status != "204":
            raise SystemExit(f"the delete answered {status}")

    def download(self, public_id: str, *extra: str) -> tuple[float, float]:
        status, total, size, _ = curl("-b", str(self.cookies), *extra,
                                   f"{self.server.url}/documents/{public_id}/download/")
        if status not in ("200", "206"):
            raise SystemExit(f"the download answered {status}")
        return total, size


def run(size_mb: int, rounds: int, workers: int, environment: dict[str, str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="strongbox-bench-files-") as tmp:
        root = Path(tmp)
        sample = root / "sample.pdf"
        incompressible_pdf(sample, size_mb * 1024 * 1024)
        (root / "data").mkdir()
        servers: list[Process] = []
        try:
            server = Server(root / "data", workers, environment)
            servers.append(server)
            servers.append(bare := BareServer(root, sample, workers))
            return measure(server, bare, Client(server, root / "cookies.txt"), sample, size_mb, rounds)
        except SystemExit:
            for process in servers:
                print(f"--- {process.log_path.name}:\n{process.log_path.read_text(errors='replace')[-3000:]}",
                      file=sys.stderr)
            raise
        finally:
            for process in servers:
                process.stop()


def measure(server: Server, bare: BareServer, client: Client, sample: Path, size_mb: int, rounds: int) -> dict:
    workers = server.workers()
    for pid in workers:
        reset_peak_rss(pid)
    _, _, public_id = client.upload_form(sample)
    first = max(peak_rss_mb(pid) for pid in workers)

    def upload_and_delete(upload):
        # Deleted at once: the stored files would otherwise pile up as dirty pages, and the disk's write speed
        # (330 MB/s here, dd with fdatasync) rather than the app server's would set the figure.
        total, size, uploaded = upload(sample)
        client.delete(uploaded)
        return total, size

    def bare_request(*args: str):
        status, total, size, _ = curl(*args, bare.url)
        if status != "200":
            raise SystemExit(f"the bare app answered {status}")
        return total, size

    scenarios = {
        "download": (lambda: client.download(public_id), workers),
        "download (range)": (lambda: client.download(public_id, "-H", "Range: bytes=1-"), workers),
        "upload (form)": (lambda: upload_and_delete(client.upload_form), workers),
        "upload (api)": (lambda: upload_and_delete(client.upload_api), workers),
        "bare download": (lambda: bare_request(), bare.workers()),
        "bare upload": (lambda: bare_request("-H", "Expect:", "--data-binary", f"@{sample}"), bare.workers()),
    }
    seconds: dict[str, list[float]] = {name: [] for name in scenarios}
    cpu: dict[str, list[float]] = {name: [] for name in scenarios}
    peaks: dict[str, float] = dict.fromkeys(scenarios, 0.0)
    sizes: dict[str, float] = {}
    for _ in range(rounds):
        for name, (scenario, pids) in scenarios.items():
            for pid in pids:
                reset_peak_rss(pid)
            used = sum(cpu_seconds(pid) for pid in pids)
            total, sizes[name] = scenario()
            cpu[name].append(sum(cpu_seconds(pid) for pid in pids) - used)
            seconds[name].append(total)
            peaks[name] = max(peaks[name], *(peak_rss_mb(pid) for pid in pids))
    rates = {name: sizes[name] / statistics.median(times) / 1e6 for name, times in seconds.items()}
    ceiling = {name: rates["bare download" if name.startswith("download") else "bare upload"] for name in BUDGETS}
    return {"size_mb": size_mb, "rounds": rounds, "workers": len(workers),
            "mb_per_s": {name: round(rate, 1) for name, rate in rates.items()},
            "all_mb_per_s": {name: [round(sizes[name] / t / 1e6, 1) for t in times] for name, times in seconds.items()},
            "ratio_to_bare": {name: round(rates[name] / ceiling[name], 2) for name in BUDGETS},
            "worker_cpu_ms": {name: round(statistics.median(values) * 1000) for name, values in cpu.items()},
            "worker_peak_rss_mb": {name: round(peak, 1) for name, peak in peaks.items()},
            "worker_peak_rss_first_upload_mb": round(first, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a median misses its budget")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra environment variable for the server (repeatable)")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("bench/files.py needs curl")
    result = run(args.size_mb, args.rounds, args.workers, dict(item.split("=", 1) for item in args.env))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.size_mb} MB file over loopback, {result['workers']} worker(s), median of {args.rounds} rounds")
        for name, rate in result["mb_per_s"].items():
            verdict = (f"budget >= {BUDGETS[name]}: {'PASS' if rate >= BUDGETS[name] else 'FAIL'}, "
                       f"{result['ratio_to_bare'][name]:.2f}x bare") if name in BUDGETS else "the ceiling"
            print(f"  {name:<17} {rate:7.0f} MB/s ({verdict})  worker CPU {result['worker_cpu_ms'][name]} ms, "
                  f"peak RSS {result['worker_peak_rss_mb'][name]} MB; rounds {result['all_mb_per_s'][name]}")
        print(f"  Strongbox worker peak RSS during its first upload: {result['worker_peak_rss_first_upload_mb']} MB")
    if args.check and any(result["mb_per_s"][name] < budget for name, budget in BUDGETS.items()):
        sys.exit(1)


if __name__ == "__main__":
    main()
