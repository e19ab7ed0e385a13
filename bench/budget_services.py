"""What bench/budget.py starts: a private PostgreSQL and Redis, the corpus controller, the servers under test
(`strongbox serve` as production runs it, the bare-Django ceiling under granian), a `git worktree` of another
revision. Everything on free loopback ports in temporary directories, stopped by the run itself."""

import json
import os
import shutil
import signal
import socket
import subprocess  # noqa: S404 - the servers under test, fixed argument lists
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name),
             default=Path("/missing"))
# Durability off: the scenarios read; what is measured is the app server's CPU, not PostgreSQL's disk.
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
PG_SETTINGS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=100",
               "shared_buffers=128MB", "listen_addresses='127.0.0.1'"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: as root it runs as the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Postgres:
    def __init__(self, core: int):
        self.root = Path(tempfile.mkdtemp(prefix="sbbudget-pg-"))
        self.data, self.port, self.core = self.root / "data", free_port(), core

    def _run(self, command: list[str]) -> str:
        result = subprocess.run(_as_postgres(command), capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        if result.returncode:
            raise RuntimeError(f"{Path(command[0]).name} failed: {result.stderr[-2000:]}")
        return result.stdout

    def start(self) -> "Postgres":
        if not (PG_BIN / "postgres").exists():
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                   "-E", "UTF8", "--locale=C.UTF-8"])
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(PG_SETTINGS) + "\n")
        self._run(["taskset", "-c", str(self.core), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                   str(self.root / "log"), "-w", "-t", "60", "-o", f"-p {self.port} -k {self.root}", "start"])
        return self

    def create_database(self, name: str) -> str:
        self._run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
                   "postgres", "-Atc", f"CREATE DATABASE {name}"])
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),  # noqa: S603
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    def __init__(self, core: int):
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603
            [TASKSET, "-c", str(core), shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)

    def url(self, database: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        stop_process(self.process)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} after {timeout} s")


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process (its group, when it leads one), then SIGKILL after `timeout`."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM) if os.getpgid(process.pid) == process.pid else process.terminate()
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL) if os.getpgid(process.pid) == process.pid else process.kill()
        process.wait()
    except ProcessLookupError:
        pass


def environment(source: Path, data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The servers' and the controller's environment: `source`/src first on the path (the revision under test),
    bench/ after it (the bench-only settings and URLs, the corpus)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("STRONGBOX_", "DATABASE_", "REDIS_"))}
    env.update(PYTHONPATH=f"{source / 'src'}:{BENCH}", DJANGO_SETTINGS_MODULE="strongbox.settings",
               STRONGBOX_DATA_DIR=str(data_dir), STRONGBOX_ENV="development", STRONGBOX_LOG_LEVEL="WARNING", **extra)
    return env


class Controller:
    """bench/budget_control.py in the server's environment, spoken to one JSON line at a time."""

    def __init__(self, env: dict[str, str], core: int, log: Path):
        self.log = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [TASKSET, "-c", str(core), sys.executable, str(BENCH / "budget_control.py")], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the controller stopped; see {self.log.name}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"controller: {answer['error']}")
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Server:
    """One server under test, pinned to `core`, in a process group of its own. `pid` is the root of the serving
    tree whose CPU and RSS are counted."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, core: int, log: Path,
                 health: str = "/healthz"):
        self.name, self.port, self.url = name, port, f"http://127.0.0.1:{port}"
        self.log_path = log
        with log.open("ab") as out:
            self.process = subprocess.Popen([TASKSET, "-c", str(core), *command], env=env, stdout=out,  # noqa: S603
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.process.pid
        self._wait_until_up(health)

    def _wait_until_up(self, health: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + health, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def stop(self) -> None:
        stop_process(self.process, timeout=40)


def serve_command(port: int) -> list[str]:
    """`strongbox serve` exactly as production runs one app server without the task worker."""
    return [sys.executable, "-m", "strongbox", "serve", "--no-worker", "--workers", "1", "--host", "127.0.0.1",
            "--port", str(port)]


def bare_command(port: int) -> list[str]:
    """granian with the flags `strongbox serve` gives it (workers, threads, no websockets), on the bare app."""
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "budget_bare_wsgi:application", "--host",
            "127.0.0.1", "--port", str(port), "--workers", "1", "--blocking-threads", "4", "--no-ws",
            "--log-level", "warning"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base_url: str, username: str, password: str) -> str:
    """Sign in through the login form as a browser does; return the session cookie's value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    login = base_url + "/accounts/login/"
    opener.open(login, timeout=30).read()
    csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrfmiddlewaretoken": csrf}).encode()
    try:
        opener.open(urllib.request.Request(login, data=form, headers={"Referer": login}), timeout=30)  # noqa: S310
    except urllib.error.HTTPError as answer:
        if answer.code != 302:
            raise RuntimeError(f"sign-in answered {answer.code}") from answer
    session = next((cookie.value for cookie in jar if cookie.name == "sessionid"), None)
    if session is None:
        raise RuntimeError("sign-in gave no session cookie")
    return session


def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()


class Worktree:
    """`git worktree add --detach` of `revision` in a temporary directory (removed again by close())."""

    def __init__(self, revision: str):
        self.path = Path(tempfile.mkdtemp(prefix="sbbudget-rev-")) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(self.path), revision],  # noqa: S603,S607
                       check=True, capture_output=True)
        self.commit = subprocess.run(["git", "-C", str(self.path), "rev-parse", "--short", "HEAD"],  # noqa: S603,S607
                                     check=True, capture_output=True, text=True).stdout.strip()

    def close(self) -> None:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(self.path)],  # noqa: S603,S607
                       capture_output=True, check=False)
        shutil.rmtree(self.path.parent, ignore_errors=True)
