"""A backup balancer: two HAProxy instances in namespaces of their own share a floating address through keepalived
(VRRP). An open-model load runs from a client namespace to the floating address while the active HAProxy is
killed with -9; the address must move to the backup within a few seconds, and come back when HAProxy restarts.

The network is the test's own (tests/cluster/netns.py), on the documentation range 198.51.100.0/24:

    client .31 ─┐
    lb1 .11 ────┤ br0 (namespace "lan")     floating address .100 on lb1 or lb2
    lb2 .12 ────┤
    app .21 .22 ┘  two `strongbox serve` sharing one embedded data directory
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cluster.netns import PREFIX, TestNetwork, namespaces, private_network
from services.common import log_tail
from strongbox.cluster.render import render_haproxy
from strongbox.cluster.render.keepalived import VrrpSpec, render_keepalived
from strongbox.cluster.runtime import RuntimeAPI
from strongbox.cluster.spec import BalancerSpec, Server

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"
STRONGBOX = REPO / ".venv" / "bin" / "strongbox"
OPENLOAD = REPO / "bench" / "openload.py"

FLOATING = "198.51.100.100"
BALANCERS = {"lb1": "198.51.100.11", "lb2": "198.51.100.12"}
APPS = {"app1": "198.51.100.21", "app2": "198.51.100.22"}
CLIENT = "198.51.100.31"
# Each namespace is new and empty, so fixed ports cannot collide with anything.
APP_PORT, HTTP_PORT, ADMIN_PORT = 8000, 8080, 8404
PRIORITIES = {"lb1": 150, "lb2": 100}
LOAD_RATE, LOAD_SECONDS = 50, 12
KILL_AFTER = 2.5  # seconds of the load's schedule served before the kill
OUTAGE_BOUND = 8.0  # seconds; measured 1.5-2 s here (check every 1 s, fall 2, FAULT releases the address at once)


def wait_until(condition: Callable[[], bool], message: str, timeout: float = 20, interval: float = 0.1) -> float:
    """Wait until `condition()` holds; return the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{message} after {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start


class Processes:
    """Processes started inside the test's namespaces, each in a session of its own, each logging to a file."""

    def __init__(self, root: Path):
        self.root = root
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = self.root / f"{name}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,  # noqa: S603
                                       start_new_session=True)
        process.log = log
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for process in reversed(self.running):
            self.stop(process)


@pytest.fixture
def network():
    with private_network() as created:
        yield created


@pytest.fixture
def processes(network, tmp_path):
    # Depends on the network, so it is stopped before the namespaces go.
    started = Processes(tmp_path)
    yield started
    started.stop_all()


def http_status(namespace: str, url: str) -> int:
    """The status of a GET from inside `namespace` (0 when nothing answered)."""
    result = subprocess.run(TestNetwork.run(namespace, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",  # noqa: S603
                                            "-m", "2", url), capture_output=True, text=True, timeout=10)
    return int(result.stdout or 0)


def app_environment(data_dir: Path) -> dict[str, str]:
    # Only what the app servers need: nothing of the test run's own settings or services (the scale-out pass's
    # PostgreSQL and Redis listen on the host's loopback, which these namespaces cannot reach).
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data_dir), "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_ENV": "test",
            "STRONGBOX_DATA_DIR": str(data_dir), "STRONGBOX_LOG_LEVEL": "WARNING",
            "STRONGBOX_ALLOWED_HOSTS": ",".join([FLOATING, *APPS.values(), "localhost"]),
            "STRONGBOX_TRUSTED_PROXIES": ",".join(BALANCERS.values())}


def start_apps(network: TestNetwork, processes: Processes, root: Path) -> str:
    """Two app servers in one namespace, on one migrated data directory; return the namespace."""
    namespace = network.host("app", *(f"{address}/24" for address in APPS.values()))
    env = app_environment(root / "data")
    (root / "data").mkdir()
    migrated = subprocess.run([str(STRONGBOX), "migrate", "-v0"], env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=120)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    for name, address in APPS.items():
        processes.start(name, network.run(namespace, str(STRONGBOX), "serve", "--no-worker", "--workers", "1",
                                          "--host", address, "--port", str(APP_PORT)), env=env)
    for name, address in APPS.items():
        wait_until(lambda address=address: http_status(namespace, f"http://{address}:{APP_PORT}/readyz") == 200,
                   f"{name} did not answer: {log_tail(root / f'{name}.log')}", timeout=40, interval=0.3)
    return namespace


class Balancer:
    """HAProxy and keepalived in one namespace."""

    def __init__(self, name: str, network: TestNetwork, processes: Processes, root: Path):
        self.name, self.processes = name, processes
        self.root = root / name
        self.root.mkdir()
        self.namespace = network.host(name, f"{BALANCERS[name]}/24")
        # HAProxy binds the floating address even while keepalived has given it to the other balancer.
        subprocess.run(network.run(self.namespace, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"),  # noqa: S603
                       check=True, timeout=10)
        self.haproxy_config = self.root / "haproxy.cfg"
        self.haproxy_config.write_text(render_haproxy(BalancerSpec(
            servers=[Server(app, address, APP_PORT) for app, address in APPS.items()],
            runtime_socket=str(self.root / "haproxy.sock"), bind_host=FLOATING, http_port=HTTP_PORT,
            admin_port=ADMIN_PORT, health_check_host="localhost", slowstart=0)))
        self.keepalived_config = self.root / "keepalived.conf"
        self.keepalived_config.write_text(render_keepalived(vrrp_spec(name)))
        self.haproxy: subprocess.Popen | None = None

    def start_haproxy(self, haproxy: str) -> None:
        self.haproxy = self.processes.start(f"{self.name}-haproxy", TestNetwork.run(
            self.namespace, haproxy, "-db", "-f", str(self.haproxy_config)))
        wait_until(lambda: http_status(self.namespace, f"http://127.0.0.1:{ADMIN_PORT}/") == 200,
                   f"{self.name}'s haproxy did not answer: {log_tail(self.haproxy.log)}")

    def start_keepalived(self, keepalived: str) -> None:
        self.keepalived = self.processes.start(f"{self.name}-keepalived", TestNetwork.run(
            self.namespace, keepalived, "--dont-fork", "--log-console", "--log-detail", "--vrrp",
            "--use-file", str(self.keepalived_config), "--pid", str(self.root / "keepalived.pid"),
            "--vrrp_pid", str(self.root / "vrrp.pid")))

    def requests_served(self) -> int:
        """Requests this HAProxy has passed to the app servers so far (health checks not counted)."""
        return sum(server.total_sessions for server in RuntimeAPI(str(self.root / "haproxy.sock")).servers().values())

    def holds_floating_address(self) -> bool:
        return f"{FLOATING}/24" in TestNetwork.addresses(self.namespace)


def vrrp_spec(name: str) -> VrrpSpec:
    # The check asks the local HAProxy's admin port for its stats page: a balancer that is up but not answering
    # gives the address away too. curl's own timeout stays inside keepalived's.
    return VrrpSpec(router_name=name, interface="eth0", virtual_router_id=51, priority=PRIORITIES[name],
                    virtual_address=f"{FLOATING}/24", advert_int=1, check_interval=1, check_timeout=1,
                    check_fall=2, check_rise=2,
                    track_command=("/usr/bin/curl", "-fsS", "-m", "0.8", "-o", "/dev/null",
                                   f"http://127.0.0.1:{ADMIN_PORT}/"),
                    # Preempt: lb1 is the balancer an operator expects to carry the traffic, and takes it back
                    # once its HAProxy answers again for `check_rise` checks. The move back costs a moment of
                    # refused connections, paid once, at a time the restart chose.
                    preempt=True)


def logs(balancers: dict[str, "Balancer"]) -> str:
    return "\n".join(f"{name}'s keepalived: {log_tail(balancer.root.parent / f'{name}-keepalived.log')}"
                     for name, balancer in balancers.items())


def run_load(namespace: str, rate: int, duration: int) -> subprocess.Popen:
    return subprocess.Popen(TestNetwork.run(namespace, str(PYTHON), str(OPENLOAD),  # noqa: S603
                                            f"http://{FLOATING}:{HTTP_PORT}/", "--rate", str(rate),
                                            "--duration", str(duration), "--path", "/healthz", "--timeout", "2",
                                            "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def assert_served_before_and_after(result: dict, duration: float) -> None:
    """Every request of the schedule's first 2 s (before the kill) and of its last 3 s (well after the outage)
    succeeded."""
    # The timeline is (bucket start s, ok, failed) per bucket of intended start time.
    before = [(ok, failed) for start, ok, failed in result["timeline"] if start < KILL_AFTER - 0.5]
    after = [(ok, failed) for start, ok, failed in result["timeline"] if start >= duration - 3]
    for what, buckets in (("before the kill", before), ("at the end", after)):
        assert sum(ok for ok, _ in buckets) > 0 and not any(failed for _, failed in buckets), \
            f"requests failed {what}: {buckets} {result['failures_by_reason']}"
    assert 0 < result["failed"] < result["sent"]  # an outage was seen, and measured


def test_it_moves_the_floating_address_to_the_backup_when_the_active_haproxy_dies(
        network, processes, tmp_path, haproxy_binary, keepalived_binary):
    haproxy, keepalived = haproxy_binary, keepalived_binary
    start_apps(network, processes, tmp_path)
    balancers = {name: Balancer(name, network, processes, tmp_path) for name in BALANCERS}
    client = network.host("client", f"{CLIENT}/24")
    for balancer in balancers.values():
        balancer.start_haproxy(haproxy)
        balancer.start_keepalived(keepalived)
    lb1, lb2 = balancers["lb1"], balancers["lb2"]
    took = wait_until(lb1.holds_floating_address, f"lb1 never took the floating address: {logs(balancers)}",
                      timeout=15)
    assert not lb2.holds_floating_address()
    assert http_status(client, f"http://{FLOATING}:{HTTP_PORT}/healthz") == 200
    print(f"\nlb1 (MASTER) holds {FLOATING} after {took:.1f} s")

    # If the test fails before the load ends, deleting the client's namespace kills it.
    served = lb1.requests_served()
    load = run_load(client, rate=LOAD_RATE, duration=LOAD_SECONDS)
    # The kill comes once lb1 has served KILL_AFTER seconds of the schedule (however long the generator took to
    # start on a busy machine), so the schedule's first seconds are known to have run before it.
    wait_until(lambda: lb1.requests_served() - served >= LOAD_RATE * KILL_AFTER, "the load never reached lb1",
               timeout=15, interval=0.05)
    processes.stop(lb1.haproxy, signal.SIGKILL)
    moved = wait_until(lb2.holds_floating_address, f"the floating address did not move to lb2: {logs(balancers)}",
                       timeout=10, interval=0.05)
    stdout, stderr = load.communicate(timeout=LOAD_SECONDS + 20)
    assert load.returncode == 0, stderr[-2000:]
    result = json.loads(stdout)
    # Two phases: while lb1 still holds the address its kernel refuses connections (counted as failures); once
    # keepalived drops it, new connections wait for a SYN retransmit until lb2 answers ARP for it (counted as
    # slow successes, hence max_ms).
    print(f"kill -9 of lb1's haproxy: address on lb2 after {moved:.1f} s; load sent {result['sent']}, "
          f"ok {result['ok']}, failed {result['failed']} {result['failures_by_reason']}, "
          f"longest failure window {result['longest_failure_window_s']:.2f} s, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms")

    assert not lb1.holds_floating_address()
    assert result["longest_failure_window_s"] < OUTAGE_BOUND
    assert_served_before_and_after(result, duration=LOAD_SECONDS)
    assert http_status(client, f"http://{FLOATING}:{HTTP_PORT}/healthz") == 200

    lb1.start_haproxy(haproxy)
    back = wait_until(lb1.holds_floating_address, f"lb1 did not take the address back: {logs(balancers)}",
                      timeout=15)
    assert not lb2.holds_floating_address()
    assert http_status(client, f"http://{FLOATING}:{HTTP_PORT}/healthz") == 200
    print(f"lb1's haproxy restarted: address back on lb1 after {back:.1f} s (preempt)")

    processes.stop_all()
    # Nothing the test started outlives it: no process in its namespaces (granian's workers included), none
    # naming its directory, and no namespace (so no veth or bridge: they lived only inside them).
    assert network.processes() == []
    network.close()
    assert not [name for name in namespaces() if name.startswith(PREFIX + network.tag)]
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, timeout=10)  # noqa: S603, S607
    assert leftover.stdout == ""


def test_the_private_network_joins_its_hosts_and_is_deleted_even_when_the_block_fails():
    with pytest.raises(RuntimeError, match="the test failed"), private_network() as network:
        first, second = network.host("one", "198.51.100.41/24"), network.host("two", "198.51.100.42/24")
        # Nothing listens on port 9: an immediate refusal (curl's 7) shows the packets crossed the bridge.
        crossed = subprocess.run(TestNetwork.run(first, "curl", "-s", "-m", "2", "http://198.51.100.42:9/"),  # noqa: S603
                                 capture_output=True, timeout=10)
        assert crossed.returncode == 7
        assert TestNetwork.addresses(second) == ["198.51.100.42/24"]
        sleeper = subprocess.Popen(TestNetwork.run(second, "sleep", "60"), start_new_session=True)  # noqa: S603
        raise RuntimeError("the test failed")
    assert not [name for name in namespaces() if name.startswith(PREFIX + network.tag)]
    assert sleeper.wait(timeout=5) == -signal.SIGKILL  # what ran inside was killed with its namespace
