"""The open-model generator against a threaded http.server in this process: the schedule is kept whatever the
server does, a stall shows as latency from the intended start, and failures and outages are measured."""

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import openload
import pytest
from openload import Request

BENCH = Path(__file__).resolve().parents[2] / "bench"


class _QuietServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the stall test opens many connections at once

    def handle_error(self, request, client_address):
        # A client that gave up (the timeout test) closes first; the late answer's broken pipe is expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class TestServer:
    """An HTTP/1.1 server in threads. `stall_at`: when that many requests have arrived, every answer waits until
    `stall` seconds later. `delay`: seconds each answer takes. `close`: answer with Connection: close, so a stopped
    server keeps no keep-alive connection and refuses everything."""

    __test__ = False

    def __init__(self, port: int = 0, *, delay: float = 0, stall_at: int = 0, stall: float = 0,
                 close: bool = False):
        self.delay, self.stall_at, self.stall, self.close_each = delay, stall_at, stall, close
        self.arrived, self.stall_until, self.lock = 0, 0.0, threading.Lock()
        self._start(port)

    def _start(self, port: int) -> None:
        self.httpd = _QuietServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _wait(self) -> None:
        with self.lock:
            self.arrived += 1
            if self.stall_at and self.arrived == self.stall_at:
                self.stall_until = time.perf_counter() + self.stall
        time.sleep(max(self.delay, self.stall_until - time.perf_counter()))

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server._wait()
                body = b"hello " + self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if server.close_each:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def restart(self) -> None:
        self._start(self.port)


@pytest.fixture
def server_factory():
    started: list[TestServer] = []

    def start(**options) -> TestServer:
        started.append(TestServer(**options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_keeps_the_schedule(server_factory):
    server = server_factory()
    report = openload.run(server.url, rate=100, duration=2, requests=lambda i: Request(path=f"/{i}"))

    assert len(report.results) == 200
    intended = sorted(result.intended for result in report.results)
    assert intended == pytest.approx([index / 100 for index in range(200)])
    summary = report.summary()
    assert summary["sent"] == summary["ok"] == 200
    assert summary["achieved_rate"] == pytest.approx(100, rel=0.05)
    assert summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert sum(ok for _t, ok, _failed in report.timeline(0.5)) == 200
    assert [t for t, _ok, _failed in report.timeline(0.5)] == [0.0, 0.5, 1.0, 1.5]


def test_a_stall_shows_as_latency_from_the_intended_start(server_factory):
    # Request 50 (due at 1.0 s) starts a 1 s stall, so nothing is answered before 2.0 s on the run's clock.
    server = server_factory(stall_at=51, stall=1.0)
    report = openload.run(server.url, rate=50, duration=3)

    during = [result for result in report.results if 1.0 <= result.intended < 2.0]
    assert len(during) == 50, "the generator sent less while the server stalled"
    assert all(result.started < 2.0 for result in during), "a request waited for an answer before it started"
    for result in during:
        assert result.status == 200
        assert result.latency >= 2.0 - result.intended - 0.005, result
    assert max(result.latency for result in during) >= 0.99
    before = [result.latency for result in report.results if result.intended < 0.9]
    assert openload.percentile(before, 0.5) < 0.5
    assert report.summary()["max_ms"] >= 990


def test_a_full_gate_delays_starts_and_counts_them_but_drops_none(server_factory):
    server = server_factory(delay=0.2)
    report = openload.run(server.url, rate=50, duration=1, max_in_flight=2)

    summary = report.summary()
    assert summary["sent"] == summary["ok"] == 50
    assert summary["late_starts"] > 25
    # Latency counts from the slot: the queue in front of the gate shows, unlike in a closed-model tool.
    assert summary["max_ms"] > 2000


def test_a_closed_server_gives_failures_with_their_reason():
    report = openload.run(f"http://127.0.0.1:{closed_port()}/", rate=50, duration=0.5, timeout=2)

    summary = report.summary()
    assert summary["sent"] == summary["failed"] == 25
    assert summary["ok"] == 0
    assert summary["failures_by_reason"] == {"connection refused": 25}
    assert all(result.status == 0 and result.error == "connection refused" for result in report.results)


def test_a_request_timeout_is_a_failure_named_timeout(server_factory):
    server = server_factory(delay=1.0)
    report = openload.run(server.url, rate=10, duration=0.3, timeout=0.2)

    assert report.failures_by_reason() == {"timeout": 3}
    assert all(0.2 <= result.latency < 0.9 for result in report.results)


def test_it_measures_a_deliberate_outage(server_factory):
    server = server_factory(close=True)
    stop, restart = threading.Timer(1.0, server.stop), threading.Timer(2.0, server.restart)
    stop.start(), restart.start()
    report = openload.run(server.url, rate=100, duration=3, timeout=2)
    stop.join(), restart.join()

    window = report.longest_failure_window()
    assert window == pytest.approx(1.0, abs=0.15)
    summary = report.summary()
    # Connections the kernel queued but the server never accepted are reset when its socket closes.
    assert summary["failures_by_reason"].keys() <= {"connection refused", "reset"}, summary
    assert summary["failures_by_reason"]["connection refused"] > 50
    assert summary["ok"] + summary["failed"] == 300
    timeline = report.timeline(0.1)
    assert all(failed == 0 for t, _ok, failed in timeline if t < 0.8 or t > 2.2)
    assert all(ok == 0 and failed > 0 for t, ok, failed in timeline if 1.2 <= t < 1.8)


def test_the_command_prints_one_json_object(server_factory):
    server = server_factory()
    result = subprocess.run([sys.executable, str(BENCH / "openload.py"), server.url, "--rate", "40",  # noqa: S603
                             "--duration", "0.5", "--path", "/a", "--path", "/b", "--header", "X-Test: 1",
                             "--json"], capture_output=True, text=True, timeout=30, check=True)

    output = json.loads(result.stdout)
    assert output["sent"] == output["ok"] == 20
    assert output["longest_failure_window_s"] == 0
    assert len(output["timeline"]) == 5
    assert sum(bucket[1] for bucket in output["timeline"]) == 20
