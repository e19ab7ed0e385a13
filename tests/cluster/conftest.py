"""What the balancer tests share: HAProxy (missing fails under CI=true), a self-signed certificate made by
openssl, and balancers started from a rendered config on free loopback ports, stopped after each test."""

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from services.common import free_port, in_ci, log_tail
from strongbox.cluster.render import render_haproxy
from strongbox.cluster.runtime import RuntimeAPI, ServerState
from strongbox.cluster.spec import BalancerSpec, Server


def require(binary: str) -> str:
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if found is None:
        if in_ci():
            pytest.fail(f"{binary} is not installed, and CI=true needs every test to run (make system-packages)")
        pytest.skip(f"needs the {binary} binary")
    return found


@pytest.fixture(scope="session")
def haproxy_binary() -> str:
    return require("haproxy")


@pytest.fixture(scope="session")
def cluster_binaries(haproxy_binary) -> None:
    """What `strongbox cluster up` runs besides Strongbox: HAProxy, Redis and PostgreSQL."""
    require("redis-server")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        if in_ci():
            pytest.fail("PostgreSQL is not installed, and CI=true needs every test to run (make system-packages)")
        pytest.skip("needs PostgreSQL")


@pytest.fixture(scope="session")
def keepalived_binary() -> str:
    return require("keepalived")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Path:
    """A PEM file with a self-signed certificate for localhost and 127.0.0.1 and its key, as HAProxy reads it."""
    openssl = require("openssl")
    root = tmp_path_factory.mktemp("tls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",  # noqa: S603
                    "-nodes", "-keyout", root / "key.pem", "-out", root / "cert.pem", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    combined = root / "balancer.pem"
    combined.write_bytes((root / "cert.pem").read_bytes() + (root / "key.pem").read_bytes())
    combined.chmod(0o600)
    return combined


def spec_for(root: Path, servers: list[Server], **options) -> BalancerSpec:
    """A spec on free loopback ports, its runtime socket in `root`."""
    return BalancerSpec(servers=servers, runtime_socket=str(root / "haproxy.sock"), http_port=free_port(),
                        https_port=free_port(), admin_port=free_port(), **options)


def check_config(haproxy: str, path: Path) -> str:
    result = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


class Balancer:
    """HAProxy running in the foreground from the config rendered for `spec`."""

    def __init__(self, haproxy: str, root: Path, spec: BalancerSpec):
        self.spec, self.root = spec, root
        self.config = root / "haproxy.cfg"
        self.config.write_text(render_haproxy(spec))
        self.log = root / "haproxy.log"
        self.haproxy = haproxy
        self.api = RuntimeAPI(spec.runtime_socket)
        self.url = f"http://127.0.0.1:{spec.http_port}"
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([self.haproxy, "-db", "-f", str(self.config)],  # noqa: S603
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait(lambda: Path(self.spec.runtime_socket).exists() and self.servers(), "the runtime API did not answer")

    def servers(self) -> dict[str, ServerState]:
        try:
            return self.api.servers()
        except OSError:
            return {}

    def totals(self) -> dict[str, int]:
        """Sessions each server has been given so far (`stot`)."""
        return {name: server.total_sessions for name, server in self.servers().items()}

    def wait(self, condition, message: str, timeout: float = 20) -> float:
        """Wait until `condition()` holds; return the seconds it took."""
        start = time.monotonic()
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"haproxy exited with {self.process.returncode}: {log_tail(self.log)}")
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{message} after {timeout} s: {self.servers()}\n{log_tail(self.log)}")
            time.sleep(0.05)
        return time.monotonic() - start

    def wait_until_checked(self) -> None:
        """Wait until every server passed a health check (before that, HAProxy only assumes they are up)."""
        self.wait(lambda: all(server.check_status == "L7OK" and server.state == "up"
                              for server in self.servers().values()), "not every server passed a health check")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def balancer(haproxy_binary, tmp_path):
    """Start balancers: balancer(servers, **spec options); each is stopped after the test."""
    started: list[Balancer] = []

    def start(servers: list[Server], **options) -> Balancer:
        root = tmp_path / f"balancer-{len(started)}"
        root.mkdir()
        started.append(Balancer(haproxy_binary, root, spec_for(root, servers, **options)))
        return started[-1]

    yield start
    for running in started:
        running.stop()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # Health checks close their connections with a reset once answered; anything else is worth printing.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RecordingServer:
    """An HTTP server in a thread that records each request it receives (method, path, headers by lower-case
    name): it stands where an app server would when a test must see exactly what the balancer sent, or a server
    slower than the balancer's timeout. /readyz answers 200; a path under /slow answers after `delay` seconds;
    anything else at once."""

    def __init__(self, name: str, delay: float = 0):
        self.name, self.delay = name, delay
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                if self.path != "/readyz":
                    recorder.requests.append((self.command, self.path, headers))
                if self.path.startswith("/slow"):
                    time.sleep(recorder.delay)
                body = json.dumps({"server": recorder.name, "headers": headers}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    # No connection outlives a request, so a closed server refuses everything at once.
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the balancer gave up waiting and closed the connection

            do_GET = do_HEAD = do_POST = answer

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def calls(self, method: str, path: str) -> int:
        return sum(1 for request in self.requests if request[:2] == (method, path))

    @property
    def server(self) -> Server:
        return Server(self.name, "127.0.0.1", self.port)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def recording_servers():
    """Start recording servers: recording_servers(name, delay=0)."""
    started: list[RecordingServer] = []

    def start(name: str, delay: float = 0) -> RecordingServer:
        started.append(RecordingServer(name, delay))
        return started[-1]

    yield start
    for server in started:
        server.close()
