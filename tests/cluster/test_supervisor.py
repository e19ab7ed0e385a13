"""The supervisor's rules with a fake clock and fake processes: when it restarts, what it leaves stopped, and
the order it stops things in. (tests/cluster/test_cluster_command.py runs the real thing.)"""

import signal
from dataclasses import replace
from pathlib import Path

import pytest

from strongbox.cluster import supervisor as supervision
from strongbox.cluster.plan import Component, Layout, Ports
from strongbox.cluster.spec import ClusterSpec
from strongbox.cluster.supervisor import Process, Supervisor


class FakeProcess:
    next_pid = 1000

    def __init__(self, command, **options):
        FakeProcess.next_pid += 1
        self.pid, self.command, self.options = FakeProcess.next_pid, command, options
        self.returncode = None
        self.signals: list[int] = []

    def poll(self):
        return self.returncode

    def send_signal(self, signum):
        self.signals.append(signum)
        if signum != signal.SIGSTOP:
            self.returncode = -signum

    def wait(self, timeout=None):
        return self.returncode


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def supervisor(tmp_path):
    layout = Layout(root=tmp_path, postgres=tmp_path / "pg", python="python", postgres_bin=Path("/pg"),
                    haproxy="haproxy", redis="redis-server")
    (tmp_path / "logs").mkdir()
    ports = Ports(http=1, https=2, admin=3, primary=4, replica=5, redis=6, apps=())
    running = Supervisor(ClusterSpec(), layout, ports, {}, say=lambda line: None)
    running.clock = Clock()
    running.popen = FakeProcess
    running.sleep = lambda seconds: None
    return running


def add(supervisor: Supervisor, name: str, role: str, stop_signal=signal.SIGTERM) -> Process:
    supervisor.processes[name] = Process(Component(name, role, ("run", name), stop_signal=stop_signal))
    supervisor._start(name)
    return supervisor.processes[name]


def test_it_restarts_a_process_that_died_unasked_with_a_growing_delay(supervisor):
    process = add(supervisor, "worker1", "worker")
    delays = []
    for _ in range(4):
        first = process.popen
        first.returncode = -signal.SIGKILL
        supervisor._watch()
        assert process.state == "restarting" and process.last_exit == "killed by SIGKILL"
        died_at = supervisor.clock.now
        while process.popen is first:
            supervisor.clock.now += 0.5
            supervisor._watch()
        delays.append(supervisor.clock.now - died_at)
    assert delays == [1, 2, 4, 8]
    assert process.restarts == 4


def test_a_process_that_ran_a_while_is_restarted_quickly_again(supervisor):
    process = add(supervisor, "worker1", "worker")
    process.failures = 5
    supervisor.clock.now += supervision.STABLE_AFTER
    process.popen.returncode = 1
    supervisor._watch()
    assert process.restart_at == supervisor.clock.now + 1
    assert process.last_exit == "exited with status 1"


def test_it_leaves_a_process_stopped_on_purpose_alone(supervisor):
    process = add(supervisor, "worker1", "worker")
    supervisor.stop("worker1")
    assert process.state == "stopped" and process.popen.signals == [signal.SIGTERM]
    supervisor.clock.now += 60
    supervisor._watch()
    assert process.state == "stopped" and process.restarts == 0


def test_a_frozen_process_is_not_taken_for_dead(supervisor):
    process = add(supervisor, "redis", "redis")
    supervisor.kill("redis", signal.SIGSTOP)
    supervisor._watch()
    assert process.pid is not None and process.restart_at is None


def test_it_stops_the_balancer_first_and_the_primary_last(supervisor):
    order = []
    for name, role in (("postgres-primary", "postgres-primary"), ("postgres-replica", "postgres-replica"),
                       ("redis", "redis"), ("app1", "app"), ("worker1", "worker"), ("haproxy", "balancer")):
        process = add(supervisor, name, role, stop_signal=signal.SIGUSR1 if role == "balancer" else signal.SIGTERM)
        original = process.popen.send_signal
        process.popen.send_signal = lambda signum, name=name, original=original: (order.append(name),
                                                                                  original(signum))
    supervisor.shutdown()
    assert order[0] == "haproxy" and set(order[1:3]) == {"app1", "worker1"}
    assert set(order[3:5]) == {"redis", "postgres-replica"} and order[5] == "postgres-primary"
    # The balancer is gone by then: an app server is told to skip its drain period.
    assert supervisor.processes["app1"].popen.signals == [signal.SIGINT]
    assert supervisor.processes["haproxy"].popen.signals == [signal.SIGUSR1]
    assert all(process.state == "stopped" for process in supervisor.processes.values())


def test_it_names_what_it_does_not_know(supervisor):
    with pytest.raises(supervision.ClusterError, match="no component is called 'app7'"):
        supervisor.kill("app7", signal.SIGKILL)


def test_every_child_gets_its_own_process_group_and_dies_with_the_supervisor(supervisor):
    process = add(supervisor, "app1", "app")
    assert process.popen.options["process_group"] == 0
    assert process.popen.options["preexec_fn"].func is supervision.die_with_parent
    replaced = replace(process.component, user="postgres")
    supervisor.processes["postgres-primary"] = Process(replaced)
    supervisor._start("postgres-primary")
    assert supervisor.processes["postgres-primary"].popen.options["user"] == "postgres"
