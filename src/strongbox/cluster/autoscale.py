"""When to add and remove app servers: Kubernetes' Horizontal Pod Autoscaler's rules as a pure class. A sequence of
observations (the clock is in them) goes in, one decision per observation comes out; nothing here reads HAProxy or
starts a process (scaler.py does, and the supervisor carries the decision out).

The metric is requests in flight (and queued) per app server, as HAProxy counts them (`show stat`: scur and qcur).
At a given request rate it halves when the servers double, which is what makes HPA's formula right:

    desired = ceil(current * metric / target), clamped to minimum..maximum

- inside the tolerance band (|metric / target - 1| <= tolerance, HPA's 10 %) nothing changes: no flapping;
- more servers are added at once (scale out fast);
- servers are removed only when every recommendation of the stabilization window (HPA's 300 s) is lower than
  what runs: the window's maximum is what scale-in goes to (scale in slowly), and the window must have been
  observed in full first, so a fresh start never removes servers;
- after an action nothing more happens for `cooldown` seconds (the new servers take their share, the metric
  settles), except to bring the count back into minimum..maximum when the operator changed the range;
- never fewer than one server, and no scale-in while no server is in rotation."""

import math
from collections import deque
from dataclasses import asdict, dataclass

HOLD, SCALE_OUT, SCALE_IN = "hold", "scale-out", "scale-in"
MAX_SERVERS = 64  # ClusterSpec's own bound


@dataclass(frozen=True)
class Policy:
    """How the autoscaler decides. Times are in seconds; `target` is requests in flight per server."""

    minimum: int
    maximum: int
    target: float = 4.0
    tolerance: float = 0.1
    stabilization: float = 300.0
    cooldown: float = 30.0
    interval: float = 2.0  # seconds between two decisions (the metric is the mean of the samples in between)

    def __post_init__(self):
        for what in ("minimum", "maximum"):
            value = getattr(self, what)
            if not isinstance(value, int) or not 1 <= value <= MAX_SERVERS:
                raise ValueError(f"the autoscale {what} must be a whole number from 1 to {MAX_SERVERS}, not {value!r}")
        if self.minimum > self.maximum:
            raise ValueError(f"the autoscale minimum ({self.minimum}) is above its maximum ({self.maximum})")
        if not self.target > 0:
            raise ValueError(f"the autoscale target must be above 0 requests in flight per server, not {self.target}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"the autoscale tolerance must be from 0 to below 1, not {self.tolerance}")
        for what in ("stabilization", "cooldown"):
            if not getattr(self, what) >= 0:
                raise ValueError(f"the autoscale {what} must be 0 seconds or more, not {getattr(self, what)}")
        if not self.interval > 0:
            raise ValueError(f"the autoscale interval must be above 0 seconds, not {self.interval}")

    @property
    def range(self) -> str:
        return f"{self.minimum}:{self.maximum}"

    def as_dict(self) -> dict:
        return asdict(self)


def parse_range(text: str) -> tuple[int, int]:
    """Return (minimum, maximum) from "MIN:MAX" (or "N", for MIN = MAX = N)."""
    low, _, high = text.partition(":")
    try:
        minimum, maximum = int(low), int(high or low)
    except ValueError:
        raise ValueError(f"the autoscale range must be MIN:MAX (e.g. 1:4), not {text!r}") from None
    return minimum, maximum


@dataclass(frozen=True)
class Observation:
    """What the balancer showed over one interval."""

    at: float  # the clock's time of the observation
    in_flight: float | None  # requests in flight and queued, summed over the managed servers (None: unreadable)
    current: int  # app servers the autoscaler manages (in rotation or not)
    ready: int  # of those, the ones in rotation
    busy: bool = False  # another change (scale, stop, restart) is running: act next time


@dataclass(frozen=True)
class Decision:
    """One decision and why. `to` is the number of servers after it (`current` when holding)."""

    at: float
    action: str  # hold, scale-out, scale-in
    current: int
    to: int
    desired: int | None  # the recommendation now: tolerance band and clamps applied
    stabilized: int | None  # the largest recommendation of the stabilization window
    metric: float | None  # in flight per server
    target: float
    reason: str

    def as_dict(self) -> dict:
        document = asdict(self)
        document["metric"] = None if self.metric is None else round(self.metric, 2)
        return document

    def line(self) -> str:
        metric = "unknown" if self.metric is None else f"{self.metric:.2f}"
        head = f"{self.action} {self.current} -> {self.to}" if self.action != HOLD else f"hold at {self.current}"
        return (f"autoscale: {head}: {metric} in flight per server (target {self.target:g}), desired "
                f"{self.desired}, window max {self.stabilized}: {self.reason}")


class Autoscaler:
    """HPA's rules over a sequence of observations. Call `decide` once per observation, in time order, and
    `finished` when an action it asked for is done (the cooldown runs from then)."""

    def __init__(self, policy: Policy, started_at: float):
        self.policy, self.started_at = policy, started_at
        self.recommendations: deque[tuple[float, int]] = deque()
        self.last_action_at: float | None = None

    def finished(self, at: float) -> None:
        self.last_action_at = at

    def decide(self, seen: Observation) -> Decision:
        policy, now = self.policy, seen.at
        while self.recommendations and self.recommendations[0][0] < now - policy.stabilization:
            self.recommendations.popleft()

        def decision(action: str, to: int, reason: str, desired=None, stabilized=None, metric=None) -> Decision:
            return Decision(now, action, seen.current, to, desired, stabilized, metric, policy.target, reason)

        # The operator's range comes first, cooldown or not.
        if seen.current < policy.minimum:
            return self._acted(decision(SCALE_OUT, policy.minimum, f"below the minimum of {policy.minimum}"))
        if seen.current > policy.maximum:
            return self._acted(decision(SCALE_IN, policy.maximum, f"above the maximum of {policy.maximum}"))
        if seen.in_flight is None:
            return decision(HOLD, seen.current, "the balancer's figures could not be read")
        metric = seen.in_flight / seen.current
        desired, why = self._recommend(metric, seen.current)
        self.recommendations.append((now, desired))
        stabilized = max(value for _, value in self.recommendations)

        def hold(reason: str) -> Decision:
            return decision(HOLD, seen.current, reason, desired, stabilized, metric)

        cooling = self.last_action_at is not None and now - self.last_action_at < policy.cooldown
        cooldown_left = f"cooling down ({policy.cooldown - (now - self.last_action_at):.0f} s left)" if cooling else ""
        if desired > seen.current:
            if seen.busy:
                return hold(f"{why}, but another change is running")
            if cooling:
                return hold(f"{why}, but {cooldown_left}")
            return self._acted(decision(SCALE_OUT, desired, why, desired, stabilized, metric))
        if stabilized < seen.current:
            if now - self.started_at < policy.stabilization:
                return hold(f"{why}; the {policy.stabilization:g} s window is not yet full "
                            f"({now - self.started_at:.0f} s observed)")
            if seen.ready < 1:
                return hold(f"{why}, but no server is in rotation")
            if seen.busy:
                return hold(f"{why}, but another change is running")
            if cooling:
                return hold(f"{why}, but {cooldown_left}")
            return self._acted(decision(
                SCALE_IN, stabilized, f"every recommendation of the last {policy.stabilization:g} s was at most "
                f"{stabilized}", desired, stabilized, metric))
        if desired < seen.current:
            return hold(f"{why}, but a recommendation of {stabilized} within the last {policy.stabilization:g} s "
                        "holds it")
        return hold(why)

    def _recommend(self, metric: float, current: int) -> tuple[int, str]:
        """Return the recommended number of servers and why."""
        policy = self.policy
        ratio = metric / policy.target
        if abs(ratio - 1) <= policy.tolerance:
            return current, f"within the tolerance of {policy.tolerance:.0%}"
        # The rounding guards against 2.0000000001 servers from floating point becoming 3.
        raw = max(1, math.ceil(round(current * ratio, 6)))
        desired = min(max(raw, policy.minimum), policy.maximum)
        side = "above" if ratio > 1 else "below"
        why = f"{metric:.2f} in flight per server is {side} the target {policy.target:g} by more than " \
              f"{policy.tolerance:.0%}"
        if desired != raw:
            why += f" (ceil({current} x {ratio:.2f}) = {raw}, clamped to {policy.minimum}..{policy.maximum})"
        return desired, why

    def _acted(self, decision: Decision) -> Decision:
        self.last_action_at = decision.at
        return decision


def in_flight(servers: dict, names, backend_queue: int = 0) -> float:
    """Return the requests in flight and queued on the named servers (HAProxy's `show stat` scur + qcur), plus
    those queued in the backend for no server in particular. `servers` maps names to runtime.ServerState."""
    return float(backend_queue + sum(servers[name].current_sessions + servers[name].queued
                                     for name in names if name in servers))
