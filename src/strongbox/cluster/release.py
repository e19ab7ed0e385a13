"""Releases: switch the running app servers (and task workers) to another checkout of the code without failing a
request, by one of three strategies, all on HAProxy's runtime API (servers added at run time, `set weight`):

- rolling: one server at a time, a new one joins (ready, ramping up) before an old one is drained and removed;
- bluegreen: as many new servers as there are old ones join at weight 0 (checked, but sent nothing); once all
  are ready, one runtime call gives them the old ones' weight and the old ones 0; the old ones are then drained
  and removed;
- canary:P: a few new servers join at a weight that gives them P % of the requests, beside the old ones; then
  `release --promote` replaces the old ones (rolling) or `release --rollback` removes the canaries.

`release --rollback` after a finished release releases the previous code the same way. Before any new server
starts, the new code's migrations run (`migrate`) and its static files are collected: the migrations must keep
the old code working (expand, then contract in a later release: docs/operations.md, "Releases").

The arithmetic is pure (`canary_weights`, `canary_count`, `Strategy.parse`); `Releaser` carries a release out on
the supervisor, which owns the processes and the balancer.
"""

import math
from dataclasses import dataclass
from pathlib import Path

STRATEGIES = ("rolling", "bluegreen", "canary")
WEIGHT = 1  # an app server's weight in rotation: HAProxy's default, which rendered and added servers have
CANARY_SCALE = 100  # the old servers' weight while a canary runs, fine enough for a share of 1 %
MAX_WEIGHT = 256  # HAProxy's largest
OWN_CODE = "the cluster's own checkout"  # what status says of servers started from the checkout `up` ran from


class ReleaseError(RuntimeError):
    """A release cannot be done (as asked, or now); the message says why."""


@dataclass(frozen=True)
class Strategy:
    kind: str
    percent: int = 0  # canary only: the share of requests the new code gets

    @classmethod
    def parse(cls, text: str) -> "Strategy":
        """Read `rolling`, `bluegreen` or `canary[:PERCENT]` (default 10 %)."""
        kind, _, percent = text.partition(":")
        if kind not in STRATEGIES:
            raise ReleaseError(f"unknown strategy {text!r}: use rolling, bluegreen or canary[:PERCENT]")
        if kind != "canary":
            if percent:
                raise ReleaseError(f"only a canary takes a percentage, not {kind}")
            return cls(kind)
        try:
            share = int(percent or 10)
        except ValueError:
            raise ReleaseError(f"the canary's share must be a whole percentage, not {percent!r}") from None
        if not 1 <= share <= 50:
            raise ReleaseError("the canary's share must be from 1 to 50 % (more is a release: use rolling)")
        return cls(kind, share)

    def __str__(self) -> str:
        return f"canary:{self.percent}" if self.kind == "canary" else self.kind


def canary_count(servers: int, percent: int) -> int:
    """How many canary servers to start beside `servers` old ones: enough to carry their share, at least one."""
    return max(1, math.ceil(servers * percent / 100))


def canary_weights(stable: int, canaries: int, percent: int) -> tuple[int, int]:
    """Return (weight of each old server, weight of each canary) so that the canaries get `percent` of the
    requests: canaries × w_c / (canaries × w_c + stable × w_s) = percent / 100."""
    if stable < 1 or canaries < 1 or not 0 < percent < 100:
        raise ValueError("a canary needs old servers, canaries and a share between 0 and 100 %")
    stable_weight = CANARY_SCALE
    canary_weight = percent * stable * stable_weight / ((100 - percent) * canaries)
    if canary_weight > MAX_WEIGHT:  # a large share on few canaries: lower the old servers' weight instead
        stable_weight = max(1, round(stable_weight * MAX_WEIGHT / canary_weight))
        canary_weight = MAX_WEIGHT
    return stable_weight, max(1, round(canary_weight))


def checkout(path: str | Path) -> Path:
    """Return the checkout's directory, if it holds Strongbox's code (src/strongbox, templates, static)."""
    root = Path(path).expanduser().resolve()
    for part in ("src/strongbox/__init__.py", "templates", "static"):
        if not (root / part).exists():
            raise ReleaseError(f"{root} is not a checkout of Strongbox: it has no {part}")
    return root


@dataclass
class Canary:
    """A canary in progress: which servers run the new code, what the old ones ran."""

    code: Path
    previous: Path | None
    strategy: Strategy
    canaries: list[str]
    stable: list[str]


class Releaser:
    """Carries releases out on a running cluster's supervisor (supervisor.py), one at a time (its `_changing`
    lock); remembers the code that runs, the code before it, and a canary in progress."""

    def __init__(self, supervisor):
        self.supervisor = supervisor
        self.previous: tuple[Path | None, Strategy] | None = None
        self.canary: Canary | None = None
        self.history: list[str] = []

    # -- the commands ------------------------------------------------------------------------------------------

    def release(self, code: Path | None, strategy: Strategy) -> str:
        if self.canary is not None:
            raise ReleaseError("a canary is in progress: `release --promote` or `release --rollback` first")
        supervisor = self.supervisor
        with supervisor._changing:
            old = supervisor.apps()
            if not old:
                raise ReleaseError("there is no app server to release to")
            supervisor.prepare_code(code)
            if strategy.kind == "rolling":
                self._roll(old, code)
            elif strategy.kind == "bluegreen":
                self._blue_green(old, code)
            else:
                self._start_canary(old, code, strategy)
                return self._say(f"canary: {len(self.canary.canaries)} server(s) of {_label(code)} get "
                                 f"{strategy.percent} % of the requests beside {len(old)} of "
                                 f"{_label(supervisor.code)}; `release --promote` or `release --rollback`")
            supervisor.replace_workers(code)
            self.previous = (supervisor.code, strategy)
            supervisor.code = code
            return self._say(f"{strategy}: every app server and task worker runs {_label(code)}")

    def promote(self) -> str:
        canary = self._the_canary()
        supervisor = self.supervisor
        with supervisor._changing:
            stable = [process for process in supervisor.apps() if process.component.name in canary.stable]
            supervisor.set_weights({name: WEIGHT for name in canary.canaries})
            # The canaries take the place of as many old servers; the others are replaced one by one.
            for process in stable[:len(canary.canaries)]:
                supervisor.leave(process)
            self._roll(stable[len(canary.canaries):], canary.code)
            supervisor.replace_workers(canary.code)
            # Rolled back, a promoted canary goes the way it came in the end: one server at a time.
            self.previous, self.canary = (canary.previous, Strategy("rolling")), None
            supervisor.code = canary.code
            return self._say(f"canary promoted: every app server and task worker runs {_label(canary.code)}")

    def rollback(self) -> str:
        if self.canary is not None:
            canary, supervisor = self.canary, self.supervisor
            with supervisor._changing:
                supervisor.set_weights({name: WEIGHT for name in canary.stable})
                for process in supervisor.apps():
                    if process.component.name in canary.canaries:
                        supervisor.leave(process)
                self.canary = None
                return self._say(f"canary rolled back: its servers are removed, {_label(canary.previous)} serves "
                                 "every request")
        if self.previous is None:
            raise ReleaseError("nothing to roll back: no release has been made since the cluster started")
        code, strategy = self.previous
        return self.release(code, strategy)

    def status(self) -> dict:
        return {"code": _label(self.supervisor.code), "previous": _label(self.previous[0]) if self.previous else None,
                "canary": None if self.canary is None else {
                    "code": _label(self.canary.code), "percent": self.canary.strategy.percent,
                    "servers": self.canary.canaries, "stable": self.canary.stable},
                "history": self.history[-10:]}

    # -- the strategies ----------------------------------------------------------------------------------------

    def _roll(self, old: list, code: Path | None) -> None:
        """Replace each old server by a new one: the new one is in rotation before the old one is drained."""
        for process in old:
            self.supervisor.join(1, code)
            self.supervisor.leave(process)

    def _blue_green(self, old: list, code: Path | None) -> None:
        supervisor = self.supervisor
        green = supervisor.join(len(old), code, weight=0)
        blue = [process.component.name for process in old]
        # One runtime call per server, green first: at no moment has neither colour weight.
        supervisor.set_weights({**{name: WEIGHT for name in green}, **{name: 0 for name in blue}})
        self._say(f"bluegreen: {', '.join(green)} ({_label(code)}) take every request; "
                  f"{', '.join(blue)} drain")
        for process in old:
            supervisor.leave(process)

    def _start_canary(self, old: list, code: Path | None, strategy: Strategy) -> None:
        supervisor = self.supervisor
        count = canary_count(len(old), strategy.percent)
        stable_weight, canary_weight = canary_weights(len(old), count, strategy.percent)
        canaries = supervisor.join(count, code, weight=canary_weight)
        stable = [process.component.name for process in old]
        supervisor.set_weights({name: stable_weight for name in stable})
        self.canary = Canary(code, supervisor.code, strategy, canaries, stable)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _the_canary(self) -> Canary:
        if self.canary is None:
            raise ReleaseError("no canary is in progress")
        return self.canary

    def _say(self, message: str) -> str:
        self.history.append(message)
        self.supervisor._note(f"release: {message}")
        return message


def _label(code: Path | None) -> str:
    return str(code) if code is not None else OWN_CODE
