"""The thread that autoscales a running cluster: it samples the balancer's requests in flight a few times a
second, hands one observation per interval to the pure `autoscale.Autoscaler`, logs each decision with its
reason (`logs/autoscale.log`, every one; the supervisor's log, each action and each new reason to hold), and
has the supervisor carry out the actions (Supervisor.scale_to, under its one-change-at-a-time lock). It only
ever runs one action at a time: the next observation comes after the action is done."""

import json
import threading
import time
from collections import deque

from strongbox.cluster.autoscale import HOLD, Autoscaler, Decision, Observation, Policy, in_flight

SAMPLE_EVERY = 0.25  # seconds between two readings of `show stat` (the metric is their mean over an interval)
KEPT = 30  # decisions (and, separately, actions) `status` shows


class Autoscaling:
    """Autoscale `supervisor`'s app servers by `policy` until `stop()`."""

    def __init__(self, supervisor, policy: Policy):
        self.supervisor, self.policy = supervisor, policy
        self.autoscaler = Autoscaler(policy, started_at=supervisor.clock())
        self.decisions: deque[dict] = deque(maxlen=KEPT)
        self.actions: deque[dict] = deque(maxlen=KEPT)
        self._stopped = threading.Event()
        self._history = threading.Lock()  # decisions and actions: appended here, read by `status` meanwhile
        self._last_reason = ""
        self.thread = threading.Thread(target=self._run, name="autoscale", daemon=True)

    def start(self) -> "Autoscaling":
        self.thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        self._stopped.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _run(self) -> None:
        supervisor = self.supervisor
        samples: list[float] = []
        unreadable = False
        next_decision = supervisor.clock() + self.policy.interval
        while not self._stopped.is_set() and not supervisor.stopping.is_set():
            managed = self._managed()
            try:
                servers, queued = supervisor.runtime.load()
            except (OSError, RuntimeError):
                unreadable = True
            else:
                samples.append(in_flight(servers, managed, queued))
            if supervisor.clock() >= next_decision:
                self._decide(managed, None if unreadable or not samples else sum(samples) / len(samples))
                samples, unreadable = [], False
                next_decision = supervisor.clock() + self.policy.interval
            self._stopped.wait(SAMPLE_EVERY)

    def _managed(self) -> list[str]:
        """The app servers the autoscaler counts: all but those stopped on purpose (`stop NAME`)."""
        return [process.component.name for process in self.supervisor.apps() if process.wanted]

    def _decide(self, managed: list[str], mean_in_flight: float | None) -> None:
        supervisor = self.supervisor
        ready = len(supervisor._in_rotation() & set(managed))
        seen = Observation(at=supervisor.clock(), in_flight=mean_in_flight, current=len(managed), ready=ready,
                           busy=supervisor._changing.locked())
        decision = self.autoscaler.decide(seen)
        self._record(decision)
        if decision.action != HOLD:
            self._act(decision)

    def _record(self, decision: Decision) -> None:
        document = {"time": time.strftime("%H:%M:%S"), **decision.as_dict()}
        with self._history:
            self.decisions.append(document)
        line = decision.line()
        with (self.supervisor.layout.logs / "autoscale.log").open("a") as log:
            log.write(json.dumps(document) + "\n")
        # The supervisor's own log (and its output) gets the actions and each change of mind, not every tick.
        if decision.action != HOLD or _kind(decision) != self._last_reason:
            self.supervisor._note(line)
        self._last_reason = _kind(decision) if decision.action == HOLD else ""

    def _act(self, decision: Decision) -> None:
        supervisor = self.supervisor
        began = supervisor.clock()
        # Shown by `status` from the start ("running"), completed when done.
        action = {"time": time.strftime("%H:%M:%S"), **decision.as_dict(), "outcome": "running", "took_s": None,
                  "servers_after": None}
        with self._history:
            self.actions.append(action)
        try:
            with supervisor._changing:
                supervisor.scale_to(decision.to)
        except (RuntimeError, OSError, ValueError, KeyError) as error:  # ClusterError, RuntimeCommandError
            outcome = f"failed: {error}"
            supervisor._note(f"autoscale: {decision.action} to {decision.to} failed: {error}")
        else:
            outcome = "done"
        finally:
            self.autoscaler.finished(supervisor.clock())
        with self._history:
            action.update(outcome=outcome, took_s=round(supervisor.clock() - began, 1),
                          servers_after=len(self._managed()))

    def status(self) -> dict:
        with self._history:
            decisions, actions = list(self.decisions), [dict(action) for action in self.actions]
        return {"enabled": True, "range": self.policy.range, "policy": self.policy.as_dict(),
                "metric": "requests in flight and queued per app server (HAProxy show stat: scur + qcur)",
                "last": decisions[-1] if decisions else None, "decisions": decisions, "actions": actions}


def _kind(decision: Decision) -> str:
    """What kind of hold a decision is, for logging each new kind once: the reason without its figures."""
    return "".join(character for character in decision.reason if not character.isdigit() and character != ".")

