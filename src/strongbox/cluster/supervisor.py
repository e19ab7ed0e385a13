"""The supervisor behind `strongbox cluster up`: carries out the plan (plan.py), keeps every process running,
answers the control socket (control.py), and stops everything, in order, when asked to stop.

Every child runs in a process group of its own and is killed by the kernel should the supervisor die
(PR_SET_PDEATHSIG); that signal is tied to the *thread* that started the child, so every child is started by
the main thread (control requests hand their starts to it). Clock, sleep and the process constructor are
attributes, so tests can swap in fakes."""

import functools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess  # noqa: S404  # nosec B404 - starts the cluster's own processes, fixed argument lists
import threading
import time
import urllib.request
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from strongbox.cluster import plan, status
from strongbox.cluster.autoscale import Policy
from strongbox.cluster.plan import Component, File, Layout, Ports, Step
from strongbox.cluster.release import Releaser, Strategy, checkout
from strongbox.cluster.render.haproxy import render_haproxy
from strongbox.cluster.runtime import (
    RuntimeAPI,
    RuntimeCommandError,
    add_server_in_maintenance,
    put_in_rotation,
    remove_server,
    set_server_state,
    set_server_weight,
    show_servers_state,
    wait_until_drained,
)
from strongbox.cluster.scaler import Autoscaling
from strongbox.cluster.spec import BalancerSpec, ClusterSpec, Server
from strongbox.ops.appserver import die_with_parent
from strongbox.ops.ports import free_port

READY_TIMEOUT = 120  # seconds a component may take to become ready (a first initdb and migrate included)
DRAIN_TIMEOUT = 30  # seconds a server being removed may take to finish the requests it has
RESTART_DELAYS = (1, 2, 4, 8, 16, 30)  # seconds before each further restart of a process that keeps dying
STABLE_AFTER = 30  # a process that ran this long counts as healthy again: its next crash restarts after 1 s
# The order of stopping: nothing new comes in, then the servers and workers finish, then the data tier.
STOP_ORDER = (("balancer",), ("app", "worker"), ("redis", "postgres-replica"), ("postgres-primary",))


class ClusterError(RuntimeError):
    """Something a person must hear about: a step failed, a component never became ready, a wrong name."""


@dataclass
class Process:
    """One component as the supervisor sees it."""

    component: Component
    popen: subprocess.Popen | None = None
    state: str = "stopped"  # starting, running, restarting, stopped (on purpose), exited (while stopping)
    wanted: bool = True  # False after `stop NAME`: the supervisor leaves it stopped
    restarts: int = 0
    failures: int = 0  # exits in a row without running STABLE_AFTER seconds
    started_at: float = 0.0
    restart_at: float | None = None
    last_exit: str = ""

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None and self.popen.poll() is None else None


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class Supervisor:
    popen = staticmethod(subprocess.Popen)
    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def __init__(self, spec: ClusterSpec, layout: Layout, ports: Ports, base_env: dict[str, str], say=print):
        self.spec, self.layout, self.ports, self.base_env, self.say = spec, layout, ports, base_env, say
        self.processes: dict[str, Process] = {}
        self.stopping = threading.Event()
        self._main_thread_work: queue.Queue = queue.Queue()
        self._lock = threading.RLock()  # the process table
        self._changing = threading.Lock()  # one scale, stop or start at a time
        self.runtime = RuntimeAPI(str(layout.haproxy_dir / "admin.sock"))
        self.log: list[str] = []  # what the supervisor did, newest last (shown by status)
        self.autoscaling: Autoscaling | None = None  # the thread that autoscales, while on
        self.code: Path | None = None  # the checkout new app servers and workers run (None: the cluster's own)
        self.releaser = Releaser(self)

    # -- carrying out the plan ------------------------------------------------------------------------------------

    def up(self) -> None:
        """Run the plan in order; return once the balancer has every app server in rotation."""
        self._prepare_directories()
        starting: list[Component] = []  # consecutive components start together, then are waited for
        for stage in [*plan.build(self.spec, self.layout, self.ports, self.base_env), None]:
            if self.stopping.is_set():
                raise ClusterError("asked to stop while starting")
            if isinstance(stage, Component):
                starting.append(stage)
                continue
            self._add(*starting)
            starting = []
            if isinstance(stage, Step):
                self._run_step(stage)
            elif isinstance(stage, File):
                self._write(stage)
        self._wait(self._balancer_has_every_server, "the balancer did not see every app server ready")
        if self.spec.autoscale is not None:
            self.set_autoscale(self.spec.autoscale)

    def _prepare_directories(self) -> None:
        for directory in (self.layout.logs, self.layout.data, self.layout.haproxy_dir, self.layout.root / "redis"):
            directory.mkdir(parents=True, exist_ok=True)
        self.layout.postgres.mkdir(parents=True, exist_ok=True)
        if self.layout.postgres_user:  # its directory and the one above (created with the private umask)
            for directory in (self.layout.postgres.parent, self.layout.postgres):
                shutil.chown(directory, self.layout.postgres_user, self.layout.postgres_user)

    def _run_step(self, step: Step) -> None:
        if step.creates is not None and step.creates.exists() and not _newer_files(step.sources, step.creates):
            return
        self._note(f"{step.name}: running")
        log = self.layout.logs / "steps.log"
        with log.open("ab") as output:
            result = subprocess.run(step.command, input=step.stdin.encode() if step.stdin else None,  # noqa: S603  # nosec B603
                                    stdout=output, stderr=subprocess.STDOUT, env=self._env(step.env),
                                    user=step.user, timeout=READY_TIMEOUT, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{step.name} failed ({describe_exit(result.returncode)}); see {log}")

    def _write(self, file: File) -> None:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        file.path.write_text(file.text)
        file.path.chmod(file.mode)
        if file.user:
            shutil.chown(file.path, file.user, file.user)

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        return extra or dict(self.base_env)

    def _add(self, *components: Component) -> None:
        """Start components together and wait until each is ready."""
        for component in components:
            with self._lock:
                self.processes[component.name] = Process(component)
            self._start(component.name)
        for component in components:
            self._wait(lambda component=component: self._ready(component), f"{component.name} did not become ready",
                       component.name)
            with self._lock:
                self.processes[component.name].state = "running"
            self._note(f"{component.name}: ready" + (f" on {component.address}" if component.address else ""))

    def _start(self, name: str) -> None:
        """Start a component's process (on the main thread, see the module's docstring)."""
        if threading.current_thread() is not threading.main_thread():
            return self._on_main_thread(functools.partial(self._start, name))
        process = self.processes[name]
        component = process.component
        with (self.layout.logs / f"{name}.log").open("ab") as log:
            process.popen = self.popen(
                component.command, env=self._env(component.env), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, user=component.user, process_group=0,
                preexec_fn=functools.partial(die_with_parent, os.getpid()))
        # Wanted again from here on, set on the thread that watches: a restart cannot be scheduled in between.
        process.state, process.started_at, process.restart_at, process.wanted = "starting", self.clock(), None, True
        return None

    def _on_main_thread(self, work):
        if self.stopping.is_set():
            raise ClusterError("the cluster is stopping")
        future: Future = Future()
        self._main_thread_work.put((work, future))
        return future.result(timeout=READY_TIMEOUT)

    def _wait(self, condition, message: str, name: str | None = None, timeout: float = READY_TIMEOUT) -> None:
        deadline = self.clock() + timeout
        while not condition():
            if self.stopping.is_set():
                raise ClusterError(f"asked to stop while waiting: {message}")
            process = self.processes.get(name) if name else None
            if process is not None and process.popen is not None and process.popen.poll() is not None:
                raise ClusterError(f"{name} {describe_exit(process.popen.returncode)} while starting; see "
                                   f"{self.layout.logs / (name + '.log')}")
            if self.clock() > deadline:
                raise ClusterError(f"{message} within {timeout} s; see the logs in {self.layout.logs}")
            self.sleep(0.1)

    def _ready(self, component: Component) -> bool:
        if component.probe == "http":
            return probe_http(component.port, tls=self.spec.tls)
        if component.probe == "postgres":
            return probe_postgres(component.port)
        if component.probe == "balancer":
            return probe_tcp(self.ports.admin) and Path(self.runtime.path).exists()
        return probe_tcp(component.port) if component.port else True

    def _balancer_has_every_server(self) -> bool:
        return all(self._server_up(process.component.name) for process in self.apps())

    # -- keeping it running ---------------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Restart what dies unasked and do the main thread's work, until `stopping` is set."""
        while not self.stopping.is_set():
            try:
                work, future = self._main_thread_work.get(timeout=0.1)
            except queue.Empty:
                pass
            else:
                try:
                    future.set_result(work())
                except BaseException as error:  # noqa: BLE001 - handed to the waiting thread, which raises it
                    future.set_exception(error)
            self._watch()

    def _watch(self) -> None:
        # Over a snapshot, not under the lock: a readiness probe may take seconds, and `status` must not wait.
        now = self.clock()
        for process in self.snapshot():
            name = process.component.name
            if process.popen is None or not process.wanted:
                continue
            returncode = process.popen.poll()
            if returncode is not None and process.restart_at is None:
                process.failures = 1 if now - process.started_at >= STABLE_AFTER else process.failures + 1
                delay = RESTART_DELAYS[min(process.failures, len(RESTART_DELAYS)) - 1]
                process.last_exit, process.state, process.restart_at = describe_exit(returncode), "restarting", \
                    now + delay
                self._note(f"{name} {process.last_exit}; restarting in {delay} s")
            elif process.restart_at is not None and now >= process.restart_at:
                process.restarts += 1
                self._start(name)
            elif process.state == "starting" and self._ready(process.component):
                process.state = "running"
                self._note(f"{name}: ready again")

    def _note(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        self.log = [*self.log[-49:], line]
        self.say(line)

    # -- stopping -------------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every process in STOP_ORDER, each group at once; kill what outstays its stop timeout."""
        if self.autoscaling is not None:
            self.autoscaling.stop()
        for roles in STOP_ORDER:
            group = [process for process in self.snapshot()
                     if process.component.role.startswith(roles) and process.pid is not None]
            for process in group:
                process.wanted = False
                # With the balancer gone there is nobody to drain for: SIGINT stops an app server without its
                # drain period (in-flight requests still finish).
                self._signal(process, signal.SIGINT if roles == ("app", "worker") and process.component.role == "app"
                             else process.component.stop_signal)
            for process in group:
                self._reap(process)

    def _signal(self, process: Process, signum: int) -> None:
        try:
            process.popen.send_signal(signum)
        except ProcessLookupError:
            pass

    def _reap(self, process: Process) -> None:
        try:
            process.popen.wait(timeout=process.component.stop_timeout)
        except subprocess.TimeoutExpired:
            self._note(f"{process.component.name} did not stop within {process.component.stop_timeout} s: killed")
            os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait()
        process.state = "stopped"

    # -- the control socket's operations --------------------------------------------------------------------------

    def process(self, name: str) -> Process:
        try:
            return self.processes[name]
        except KeyError:
            raise ClusterError(f"no component is called {name!r}; `strongbox cluster status` lists them") from None

    def kill(self, name: str, signum: int) -> str:
        """Send a signal to a component's main process, as a crash or a hang would (SIGKILL, SIGSTOP). The
        supervisor restarts a process that dies of it; SIGCONT resumes a stopped one."""
        process = self.process(name)
        if process.pid is None:
            raise ClusterError(f"{name} is not running")
        self._signal(process, signum)
        self._note(f"{name}: sent {signal.Signals(signum).name} to pid {process.pid}")
        return f"sent {signal.Signals(signum).name} to {name} (pid {process.popen.pid})"

    def stop(self, name: str) -> str:
        """Stop a component on purpose (it stays stopped); an app server is drained first."""
        with self._changing:
            process = self.process(name)
            if not process.wanted:
                return f"{name} is stopped already"
            if process.component.role == "app":
                self._drain(name)
            process.wanted = False
            if process.pid is not None:
                self._signal(process, process.component.stop_signal)
                self._reap(process)
            process.state = "stopped"
            self._note(f"{name}: stopped")
            return f"{name} stopped"

    def start(self, name: str) -> str:
        """Start a stopped component again; an app server goes back into rotation once ready."""
        with self._changing:
            process = self.process(name)
            if process.wanted and process.pid is not None:
                return f"{name} is running already"
            self._start(name)
            self._wait(lambda: self._ready(process.component), f"{name} did not become ready", name)
            process.state = "running"
            if process.component.role == "app":
                self.runtime.run([set_server_state(name, "ready")])
            self._note(f"{name}: started")
            return f"{name} started"

    def restart(self, name: str) -> str:
        """Stop and start a component; `all` restarts every app server in turn (a rolling restart: each is
        drained, stopped, started and back in rotation before the next one goes)."""
        names = [process.component.name for process in self.apps()] if name == "all" else [name]
        for each in names:
            self.stop(each)
            self.start(each)
            if self.process(each).component.role == "app":
                self._wait(lambda each=each: self._server_up(each), f"{each} did not come back into rotation")
        return f"restarted {', '.join(names)}"

    def _server_up(self, name: str, weighed: bool = True) -> bool:
        try:
            server = self.runtime.servers().get(name)
        except OSError:
            return False
        states = ("up",) if weighed else ("up", "drain")
        return server is not None and server.state in states and server.check_status == "L7OK"

    def _drain(self, name: str) -> None:
        """Send the server nothing new and wait until its requests are done (or DRAIN_TIMEOUT passed)."""
        self.runtime.run([set_server_state(name, "drain")])
        if not wait_until_drained(self.runtime, name, DRAIN_TIMEOUT, clock=self.clock, sleep=self.sleep):
            self._note(f"{name}: still busy after {DRAIN_TIMEOUT} s of draining; stopping it anyway")

    def apps(self) -> list[Process]:
        with self._lock:
            found = [process for process in self.processes.values() if process.component.role == "app"]
        return sorted(found, key=lambda process: int(process.component.name.removeprefix("app")))

    def scale(self, count: int) -> str:
        """Run `count` app servers: new ones start, become ready and join the balancer; surplus ones (those out
        of rotation first, then the highest-numbered) are drained, stopped and removed."""
        if not 1 <= count <= 64:
            raise ClusterError("the number of app servers must be from 1 to 64")
        if self.autoscaling is not None:
            raise ClusterError(f"autoscaling ({self.autoscaling.policy.range}) decides the number of app servers: "
                               "change its range or turn it off first (`strongbox cluster autoscale off`)")
        with self._changing:
            self.scale_to(count)
        return f"{count} app server{'s' if count > 1 else ''} in rotation"

    def scale_to(self, count: int) -> None:
        """Add or remove app servers until there are `count` (the caller holds `_changing`). Without --sticky
        through the runtime API (a new server enters in maintenance and is put in rotation once its /readyz
        passes; a leaving one is drained, then deleted), with it by a reload (see render/haproxy.py)."""
        apps = self.apps()
        if count > len(apps):
            numbers = {int(process.component.name.removeprefix("app")) for process in apps}
            free = (number for number in range(1, 65) if number not in numbers)
            self._join([plan.app_server(self.spec, self.layout, self.ports, self.base_env, f"app{next(free)}",
                                        free_port(), self.code) for _ in range(count - len(apps))])
        elif count < len(apps):
            in_rotation = self._in_rotation()
            # Those out of rotation (stopped, down) go first: the ones that serve stay.
            surplus = sorted(apps, key=lambda process: (process.component.name in in_rotation,
                                                        -int(process.component.name.removeprefix("app"))))
            removed = [process for process in surplus[:len(apps) - count] if self._leave(process)]
            if removed and self.spec.sticky:
                self.reload_balancer()

    def _in_rotation(self) -> set[str]:
        try:
            servers = self.runtime.servers()
        except (OSError, RuntimeError):
            return set()
        return {name for name, server in servers.items() if server.state == "up"}

    def _balancer_spec(self) -> BalancerSpec:
        apps = {process.component.name: process.component.port for process in self.apps()}
        return plan.balancer_spec(self.spec, self.layout, self.ports, apps)

    def _join(self, components: list[Component], weight: int | None = None) -> None:
        """Start new app servers together; each joins the balancer in maintenance, and is put in rotation (and
        ramps up over slowstart) once its /readyz passes, at `weight` if given (0: checked, sent nothing). One
        that never gets ready is removed again."""
        dynamic = not self.spec.sticky
        for component in components:
            with self._lock:
                self.processes[component.name] = Process(component)
            self._start(component.name)
            if dynamic:
                self.runtime.run([add_server_in_maintenance(
                    self._balancer_spec(), Server(component.name, plan.LOOPBACK, component.port))])
            self._note(f"{component.name}: starting on {component.address}"
                       + (", in maintenance until its /readyz passes" if dynamic else ""))
        try:
            for component in components:
                self._wait(lambda component=component: self._ready(component),
                           f"{component.name} did not become ready", component.name)
                with self._lock:
                    self.processes[component.name].state = "running"
                if dynamic:
                    if weight is not None:
                        self.runtime.run([set_server_weight(component.name, weight)])
                    self.runtime.run(put_in_rotation(component.name))
                self._note(f"{component.name}: ready" + (", in rotation (ramping up)" if dynamic else ""))
            if not dynamic:
                self.reload_balancer()
            # HAProxy shows a server of weight 0 as DRAIN: it passes its checks, and gets requests once weighed.
            self._wait(lambda: all(self._server_up(component.name, weighed=weight != 0) for component in components),
                       "the balancer did not take every new app server")
        except ClusterError:
            for component in components:
                if not self._server_up(component.name):
                    self._remove(self.processes[component.name])
            raise

    def _leave(self, process: Process) -> bool:
        """Drain an app server, stop it and remove it; return False, keeping it, if it is the last server in
        rotation."""
        name = process.component.name
        in_rotation = self._in_rotation()
        if name in in_rotation:
            if not in_rotation - {name}:
                self._note(f"{name}: kept, it is the last server in rotation")
                return False
            self._drain(name)
        self._remove(process)
        self._note(f"{name}: drained, stopped and removed")
        return True

    def _remove(self, process: Process) -> None:
        name = process.component.name
        if not self.spec.sticky:
            self._delete_from_balancer(name)
        process.wanted = False
        if process.pid is not None:
            # Out of the balancer already, there is nobody to drain for: SIGINT skips the server's drain period
            # (what is in flight still finishes). A sticky one stays in the config until the reload.
            self._signal(process, process.component.stop_signal if self.spec.sticky else signal.SIGINT)
            self._reap(process)
        with self._lock:
            self.processes.pop(name, None)

    def _delete_from_balancer(self, name: str) -> None:
        # HAProxy refuses while the server still has a connection (an idle one, a check in progress): retry.
        deadline = self.clock() + 10
        while True:
            try:
                self.runtime.run(remove_server(name))
                return
            except RuntimeCommandError as error:
                if "No such server" in str(error):
                    return
                if self.clock() > deadline:
                    self._note(f"{name}: the balancer kept it ({error}); the next reload drops it")
                    return
            self.sleep(0.2)

    # -- releases (cluster/release.py decides; these carry its steps out) ------------------------------------------

    def release(self, request: dict) -> str:
        if self.autoscaling is not None:
            raise ClusterError("turn autoscaling off for a release (`strongbox cluster autoscale off`): it would "
                               "add servers of either version meanwhile")
        if request.get("action") == "promote":
            return self.releaser.promote()
        if request.get("action") == "rollback":
            return self.releaser.rollback()
        strategy = Strategy.parse(request["strategy"])
        if self.spec.sticky and strategy.kind != "rolling":
            raise ClusterError(f"{strategy.kind} weighs servers added at run time, which a --sticky cluster does "
                               "not add (HAProxy 2.6 gives them no cookie): use --strategy rolling")
        return self.releaser.release(checkout(request["code"]), strategy)

    def prepare_code(self, code: Path | None) -> None:
        for step in plan.code_steps(self.spec, self.layout, self.ports, self.base_env, code):
            self._run_step(step)

    def join(self, count: int, code: Path | None, weight: int | None = None) -> list[str]:
        """Start `count` app servers of `code` and put them in rotation (at `weight`); return their names."""
        numbers = {int(process.component.name.removeprefix("app")) for process in self.apps()}
        free = (number for number in range(1, 65) if number not in numbers)
        components = [plan.app_server(self.spec, self.layout, self.ports, self.base_env, f"app{next(free)}",
                                      free_port(), code) for _ in range(count)]
        self._join(components, weight)
        return [component.name for component in components]

    def leave(self, process: Process) -> None:
        if not self._leave(process):
            raise ClusterError(f"{process.component.name} is the last app server in rotation: it stays")
        if self.spec.sticky:
            self.reload_balancer()

    def set_weights(self, weights: dict[str, int]) -> None:
        """Weigh app servers, in the order given (give the new ones their weight before taking the old ones')."""
        self.runtime.run([set_server_weight(name, weight) for name, weight in weights.items()])
        self._note("weights: " + ", ".join(f"{name} {weight}" for name, weight in weights.items()))

    def replace_workers(self, code: Path | None) -> None:
        """Replace each task worker by one of `code`: the new one runs before the old one stops (SIGTERM: the
        jobs it runs finish first; a job cut off anyway is run again after its lease, ops/jobs.py)."""
        with self._lock:
            workers = [process for process in self.processes.values() if process.component.role == "worker"]
            numbers = {int(process.component.name.removeprefix("worker")) for process in workers}
        free = (number for number in range(1, 1000) if number not in numbers)
        for old in workers:
            self._add(plan.task_worker(self.spec, self.layout, self.ports, self.base_env, f"worker{next(free)}",
                                       code))
            old.wanted = False
            if old.pid is not None:
                self._signal(old, old.component.stop_signal)
                self._reap(old)
            with self._lock:
                self.processes.pop(old.component.name, None)
            self._note(f"{old.component.name}: replaced")

    def set_autoscale(self, policy: Policy | None) -> str:
        """Autoscale the app servers by `policy` from now on (a new range and rules replace the old ones; the
        window starts again), or stop autoscaling (None): the servers there are stay."""
        if self.autoscaling is not None:
            self.autoscaling.stop(timeout=READY_TIMEOUT)
            self.autoscaling = None
        if policy is None:
            self._note("autoscale: off")
            return f"autoscaling is off; {len(self.apps())} app servers stay"
        self.autoscaling = Autoscaling(self, policy).start()
        self._note(f"autoscale: on, {policy.range} servers, target {policy.target:g} in flight per server, "
                   f"tolerance {policy.tolerance:.0%}, window {policy.stabilization:g} s, cooldown "
                   f"{policy.cooldown:g} s")
        return f"autoscaling {policy.range} app servers (target {policy.target:g} requests in flight per server)"

    def autoscale_status(self) -> dict:
        if self.autoscaling is None:
            return {"enabled": False}
        return self.autoscaling.status()

    def balancer_config(self) -> str:
        return render_haproxy(self._balancer_spec())

    def reload_balancer(self) -> str:
        """Write the balancer's config for the servers there are now and reload HAProxy seamlessly: the new
        process takes over the listening sockets and each server's state (drain, maint); the old one finishes
        its requests."""
        balancer = self.process("haproxy")
        before = self._balancer_pid()
        (self.layout.haproxy_dir / "state").write_text(self.runtime.execute(show_servers_state()))
        (self.layout.haproxy_dir / "haproxy.cfg").write_text(self.balancer_config())
        self._signal(balancer, signal.SIGUSR2)
        self._wait(lambda: self._balancer_pid() not in (None, before), "the balancer did not reload",
                   "haproxy", timeout=30)
        self._note("haproxy: reloaded")
        return "the balancer reloaded its configuration"

    def _balancer_pid(self) -> str | None:
        try:
            info = self.runtime.execute("show info")
        except OSError:
            return None
        return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Pid:")), None)

    def status(self) -> dict:
        return status.collect(self)

    def snapshot(self) -> list[Process]:
        with self._lock:
            return list(self.processes.values())

    def environment(self) -> dict[str, str]:
        return plan.cluster_variables(self.spec, self.layout, self.ports)


def _newer_files(sources: Path | None, made: Path) -> bool:
    if sources is None:
        return False
    made_at = made.stat().st_mtime
    return any(path.stat().st_mtime > made_at for path in sources.rglob("*") if path.is_file())


def probe_tcp(port: int) -> bool:
    try:
        with socket.create_connection((plan.LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def probe_http(port: int, tls: bool = False) -> bool:
    # The balancer's own health check, sent the way the balancer sends it.
    headers = {"Host": "localhost", **({"X-Forwarded-Proto": "https"} if tls else {})}
    request = urllib.request.Request(f"http://{plan.LOOPBACK}:{port}/readyz", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310  # nosec B310 - loopback
            return response.status == 200
    except OSError:
        return False


def probe_postgres(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(host=plan.LOOPBACK, port=port, user="postgres", dbname="postgres",
                             connect_timeout=2) as db:
            return db.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def write_state(layout: Layout, document: dict) -> None:
    path = layout.root / "cluster.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
