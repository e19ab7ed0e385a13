"""`strongbox cluster`: one command starts PostgreSQL primary + replica, Redis, app servers, a task worker and
HAProxy; the others show it, break it, change it and stop it. One real cluster for the module."""

import json
import os
import signal
import time

import pytest
from django.conf import settings
from running import RunningCluster, _alive

pytestmark = pytest.mark.skipif(settings.SCALE_OUT_RUN, reason="the cluster runs its own data tier: the "
                                "embedded pass runs it once")


@pytest.fixture(scope="module")
def cluster(cluster_binaries):
    running = RunningCluster("--servers", "2", "--workers", "1")
    yield running
    running.stop()


def test_it_serves_strongbox_through_the_balancer(cluster):
    status, body = cluster.get("/accounts/login/")
    assert status == 200 and b"Sign in" in body
    ready, body = cluster.get("/readyz")
    assert ready == 200, body


def test_it_shows_every_component_with_its_pid_address_and_the_balancers_view(cluster):
    document = cluster.status()
    by_name = {entry["name"]: entry for entry in document["components"]}
    assert list(by_name) == ["postgres-primary", "postgres-replica", "redis", "app1", "app2", "worker1", "haproxy"]
    assert all(entry["state"] == "running" and _alive(entry["pid"]) for entry in by_name.values())
    assert by_name["haproxy"]["port"] == cluster.port
    assert {by_name[name]["balancer"]["state"] for name in ("app1", "app2")} == {"up"}
    assert document["database"]["replica_lag"]["bytes"] >= 0
    assert document["queue"]["jobs"] >= 0
    table = cluster.command("status").stdout
    for name in by_name:
        assert name in table
    assert document["url"] in table


def test_it_spreads_requests_over_both_servers(cluster):
    before = {name: cluster.component(name)["balancer"]["total_sessions"] for name in ("app1", "app2")}
    for _ in range(10):
        assert cluster.get("/healthz")[0] == 200
    after = {name: cluster.component(name)["balancer"]["total_sessions"] for name in ("app1", "app2")}
    assert all(after[name] - before[name] >= 4 for name in after), (before, after)


def test_it_restarts_an_app_server_killed_with_sigkill_and_the_balancer_takes_it_back(cluster):
    old_pid = cluster.component("app1")["pid"]
    start = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)  # what `cluster kill app1` sends, without a command's start-up to time
    cluster.wait_for_balancer("app1", "down", timeout=10)
    marked_down = time.monotonic() - start
    cluster.wait_for_balancer("app1", "up")
    entry = cluster.component("app1")
    print(f"\nkilled app1: marked down after {marked_down:.1f} s, back after {time.monotonic() - start:.1f} s")
    assert marked_down < 3
    assert entry["pid"] != old_pid and entry["restarts"] == 1 and entry["last_exit"] == "killed by SIGKILL"
    assert not _alive(old_pid)


def test_its_kill_command_signals_a_component_which_is_then_restarted(cluster):
    old_pid = cluster.component("worker1")["pid"]
    answer = cluster.command("kill", "worker1", "--signal", "TERM").stdout
    assert f"sent SIGTERM to worker1 (pid {old_pid})" in answer
    cluster.wait_for(lambda status: _entry(status, "worker1")["state"] == "running"
                     and _entry(status, "worker1")["pid"] not in (None, old_pid), "worker1 not restarted")
    assert cluster.component("worker1")["restarts"] == 1


def test_it_drains_a_server_it_is_asked_to_stop_and_starts_it_again(cluster):
    cluster.command("stop", "app2")
    entry = cluster.component("app2")
    assert entry["state"] == "stopped" and entry["pid"] is None
    assert entry["balancer"]["state"] in ("drain", "down", "maint")
    assert all(cluster.get("/healthz")[0] == 200 for _ in range(5))
    time.sleep(2)  # a stopped component stays stopped: the supervisor does not restart it
    assert cluster.component("app2")["pid"] is None
    cluster.command("start", "app2")
    cluster.wait_for_balancer("app2", "up")


def test_it_scales_out_and_back_in(cluster):
    cluster.command("scale", "3")
    entry = cluster.component("app3")
    assert entry["state"] == "running" and entry["balancer"]["state"] == "up"
    # Added at run time, it ramps up over slowstart (10 s) instead of taking its full share cold.
    assert entry["balancer"]["ramp_percent"] is not None and entry["balancer"]["ramp_percent"] < 100
    cluster.wait_for(lambda status: _entry(status, "app3")["balancer"]["ramp_percent"] in (None, 100),
                     "app3 did not ramp up", timeout=20)
    for _ in range(9):
        assert cluster.get("/healthz")[0] == 200
    assert cluster.component("app3")["balancer"]["total_sessions"] >= 2
    pid = entry["pid"]
    cluster.command("scale", "2")
    names = [entry["name"] for entry in cluster.status()["components"]]
    assert "app3" not in names and not _alive(pid)


def test_it_refuses_what_it_cannot_do_with_a_clear_message(cluster):
    unknown = cluster.command("kill", "app9", check=False)
    assert unknown.returncode != 0 and "no component is called 'app9'" in unknown.stderr
    again = cluster.command("up", check=False)
    assert again.returncode != 0 and "running in" in again.stderr
    zero = cluster.command("scale", "0", check=False)
    assert zero.returncode != 0 and "from 1 to 64" in zero.stderr


def test_it_answers_status_as_json_scripts_can_read(cluster):
    document = json.loads(cluster.command("status", "--json").stdout)
    assert document["balancer"]["runtime_socket"].endswith("admin.sock")
    assert document["balancer"]["metrics_url"].startswith("http://127.0.0.1:")


def test_no_process_outlives_a_supervisor_killed_with_sigkill(cluster):
    """Last in the module: SIGTERM is the polite way (the fixture's teardown checks it); this is the other."""
    pids = set(cluster.pid_of().values())
    os.kill(cluster.process.pid, signal.SIGKILL)
    cluster.process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)]


def _entry(status: dict, name: str) -> dict:
    return next(entry for entry in status["components"] if entry["name"] == name)
