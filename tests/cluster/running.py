"""A real `strongbox cluster up` for the tests: started in a directory of its own, driven through the same
commands an operator types, and stopped with SIGTERM afterwards, checking that no process of it is left."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from services.common import free_port, log_tail
from strongbox.cluster.runtime import RuntimeAPI

ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT = 180
# Collected once for every cluster of the test run (collectstatic takes seconds; `up` skips it when fresh).
STATIC_ROOT = tempfile.mkdtemp(prefix="strongbox-cluster-static-")


def strongbox(*args: str) -> list[str]:
    return [sys.executable, "-m", "strongbox", *args]


def _environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTEST", "DJANGO_"))}
    # The cluster's processes run Strongbox's own settings, in the default (development) profile: draining
    # and every other behaviour as an operator would see it, not the test profile's shortcuts.
    env.update({"DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_ENV": "development",
                "STRONGBOX_DATA_DIR": tempfile.mkdtemp(prefix="strongbox-cluster-cli-"),
                "STRONGBOX_STATIC_ROOT": STATIC_ROOT})
    return env


class RunningCluster:
    """`strongbox cluster up ARGS` in a fresh directory; .status(), .command(...) and .url while it runs."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="sbc-"))  # short: UNIX socket paths are limited to 107 bytes
        self.port = free_port()
        self.env = {**_environment(), **(env or {})}
        self.output = self.root.parent / f"{self.root.name}.out"
        self.args = ("--port", str(self.port), *args)
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(strongbox("cluster", "up", "--dir", str(self.root), *self.args),  # noqa: S603
                                            env=self.env, stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=ROOT)
        self.pids: set[int] = set()
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + UP_TIMEOUT
        while "Strongbox cluster is up" not in self.output.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"cluster up did not come up: {self.output.read_text(errors='replace')}\n"
                                     f"{self.logs()}")
            time.sleep(0.2)
        document = self.status()
        self.pids |= {entry["pid"] for entry in document["components"] if entry["pid"]}
        # The balancer's own view, read straight from its runtime API: quicker than a `status` command.
        self.runtime = RuntimeAPI(document["balancer"]["runtime_socket"])

    @property
    def url(self) -> str:
        return self.status()["url"].rstrip("/")

    def command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `strongbox cluster ARGS --dir ROOT`, as an operator would."""
        result = subprocess.run(strongbox("cluster", *args, "--dir", str(self.root)), env=self.env, cwd=ROOT,  # noqa: S603
                                capture_output=True, text=True, timeout=300, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"cluster {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result

    def manage(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a Strongbox management command against the cluster (`strongbox cluster manage ARGS`)."""
        return subprocess.run(strongbox("cluster", "manage", "--dir", str(self.root), *args),  # noqa: S603
                              env={**self.env, **(env or {})}, cwd=ROOT, capture_output=True, text=True,
                              timeout=120, check=False)

    def status(self) -> dict:
        document = json.loads(self.command("status", "--json").stdout)
        self.pids |= {entry["pid"] for entry in document["components"] if entry["pid"]}
        return document

    def component(self, name: str) -> dict:
        return next(entry for entry in self.status()["components"] if entry["name"] == name)

    def pid_of(self) -> dict[str, int]:
        return {entry["name"]: entry["pid"] for entry in self.status()["components"] if entry["pid"]}

    def wait_for(self, condition, message: str, timeout: float = 60) -> float:
        """Wait until condition(status) holds; return the seconds it took."""
        start = time.monotonic()
        while not condition(self.status()):
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{message} after {timeout} s: {json.dumps(self.status(), indent=1)}")
            time.sleep(0.2)
        return time.monotonic() - start

    def balancer_state(self, name: str) -> str | None:
        """up, down, drain or maint (None for a server the balancer does not have)."""
        try:
            server = self.runtime.servers().get(name)
        except OSError:
            return None
        return server.state if server else None

    def wait_for_balancer(self, name: str, state: str, timeout: float = 60) -> float:
        """Wait until the balancer holds server `name` in `state`; return the seconds it took."""
        start = time.monotonic()
        while self.balancer_state(name) != state:
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{name} is {self.balancer_state(name)}, not {state}, after {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - start

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path)  # noqa: S310 - http on loopback
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def logs(self) -> str:
        logs = self.root / "logs"
        return "\n".join(f"--- {path.name}\n{log_tail(path)}" for path in sorted(logs.glob("*.log"))) \
            if logs.exists() else "(no logs)"

    def stop(self) -> None:
        """SIGTERM the supervisor; assert that it and every process it ever ran are gone; delete the directory."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                raise AssertionError(f"cluster up did not stop within 120 s:\n{self.logs()}") from None
        left = [pid for pid in self.pids if _alive(pid)]
        subprocess.run(strongbox("cluster", "destroy", "--dir", str(self.root)), env=self.env, cwd=ROOT,  # noqa: S603
                       capture_output=True, timeout=60, check=False)
        self.output.unlink(missing_ok=True)
        assert not left, f"processes of the cluster outlived it: {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its parent (gone with the supervisor, then reaped by init).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
