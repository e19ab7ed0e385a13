"""An open-model HTTP load generator: requests start on a fixed schedule whatever the server does.

wrk, hey and locust are closed-model: each connection waits for its answer before sending the next request, so
a server that stalls is simply sent less, and the stall hides in a few slow samples (coordinated omission). Here
request i is due at i / rate seconds after the start and its latency is measured from that *intended* time to
the end of the response body, so a 1 s stall shows as ~1 s of latency on every request scheduled during it.

A request that cannot start within 10 ms of its slot (the event loop was busy, or `max_in_flight` requests were
already waiting) is still sent, as soon as possible, and counted in `late_starts`; none is ever dropped. The
generator never retries: a refused, reset or timed-out request is a failure with its reason.

    python bench/openload.py http://127.0.0.1:8000/ --rate 200 --duration 10 [--path /a --path /b] [--json]

As a library: `run(base_url, rate, duration, requests)` returns a `Report`; `await run_open(...)` inside a
running event loop. Needs only aiohttp (no import from strongbox), so it runs under `ip netns exec` as well.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import hashlib
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

LATE_AFTER = 0.010  # seconds after its slot at which a start counts as late


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/"
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Result:
    intended: float  # seconds since the run's start at which the request was due
    latency: float  # seconds from `intended` to the end of the response body (or to the failure)
    status: int  # 0 when no response arrived
    error: str = ""  # "" or a short reason: "connection refused", "timeout", "reset", ...
    started: float = 0.0  # seconds since the run's start at which it was really sent
    body_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 500

    @property
    def late(self) -> bool:
        return self.started - self.intended > LATE_AFTER


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (sorted or not); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


@dataclass
class Report:
    rate: float
    duration: float
    results: list[Result] = field(default_factory=list)

    def _by_intended(self) -> list[Result]:
        return sorted(self.results, key=lambda result: result.intended)

    def summary(self) -> dict:
        """Counts, latency percentiles of the answered requests (ms), the achieved start rate and late starts."""
        answered = [result.latency * 1000 for result in self.results if result.status]
        starts = sorted(result.started for result in self.results)
        span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
        return {
            "rate": self.rate,
            "duration": self.duration,
            "sent": len(self.results),
            "ok": sum(result.ok for result in self.results),
            "client_errors": sum(400 <= result.status < 500 for result in self.results),
            "failed": sum(result.failed for result in self.results),
            "p50_ms": round(percentile(answered, 0.50), 2),
            "p90_ms": round(percentile(answered, 0.90), 2),
            "p99_ms": round(percentile(answered, 0.99), 2),
            "max_ms": round(max(answered, default=0.0), 2),
            # (n - 1) intervals between n starts: exactly `rate` when every start kept its slot.
            "achieved_rate": round((len(starts) - 1) / span, 2) if span else 0.0,
            "late_starts": sum(result.late for result in self.results),
            "failures_by_reason": self.failures_by_reason(),
        }

    def failures_by_reason(self) -> dict[str, int]:
        reasons = Counter(result.error or f"HTTP {result.status}" for result in self.results if result.failed)
        return dict(reasons.most_common())

    def timeline(self, bucket: float = 0.1) -> list[tuple[float, int, int]]:
        """(bucket start s, ok, failed) for each `bucket` seconds of intended time, empty buckets included."""
        count = max(1, math.ceil(self.duration / bucket))
        ok, failed = [0] * count, [0] * count
        for result in self.results:
            # The epsilon keeps a slot that falls on a bucket edge (0.3 / 0.1 = 2.999...) in the bucket it opens.
            index = min(count - 1, int(result.intended / bucket + 1e-9))
            ok[index] += result.ok
            failed[index] += result.failed
        return [(round(index * bucket, 6), ok[index], failed[index]) for index in range(count)]

    def longest_failure_window(self) -> float:
        """Seconds from the first to the last failed request of the longest run of consecutive failures, in
        order of intended time (0 if none failed or the run is a single request); 4xx answers do not break it."""
        longest, first = 0.0, None
        for result in self._by_intended():
            if result.failed:
                first = result.intended if first is None else first
                longest = max(longest, result.intended - first)
            elif result.ok:
                first = None
        return round(longest, 6)


def reason(exc: BaseException) -> str:
    """A short, stable name for why a request got no response."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "incomplete body"
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = exc.os_error.errno
        if code == errno.ECONNREFUSED:
            return "connection refused"
        if code == errno.ECONNRESET:
            return "reset"
        return f"connect: {errno.errorcode.get(code, type(exc.os_error).__name__)}"
    code = getattr(exc, "errno", None)
    if code in (errno.ECONNRESET, errno.EPIPE) or isinstance(exc, ConnectionResetError):
        return "reset"
    return type(exc).__name__


class _Run:
    """One run's shared state: the session, the clock zero, the in-flight gate and the results."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, headers: dict[str, str],
                 max_in_flight: int, hash_bodies: bool):
        self.session, self.base_url, self.headers = session, base_url.rstrip("/"), headers
        self.gate = asyncio.Semaphore(max_in_flight)
        self.hash_bodies = hash_bodies
        self.results: list[Result] = []
        self.zero = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.zero

    async def send(self, request: Request, intended: float) -> None:
        started = self.now()
        status, error, digest = 0, "", None
        try:
            async with self.session.request(request.method, self.base_url + request.path, data=request.body,
                                            headers={**self.headers, **dict(request.headers)},
                                            allow_redirects=False) as response:
                body = await response.read()
                status = response.status
                digest = hashlib.sha256(body).hexdigest() if self.hash_bodies else None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = reason(exc)
        finally:
            self.gate.release()
        self.results.append(Result(intended=intended, latency=self.now() - intended, status=status, error=error,
                                   started=started, body_sha256=digest))


def _request_for(requests: Callable[[int], Request] | Request) -> Callable[[int], Request]:
    return requests if callable(requests) else (lambda _index: requests)


async def run_open(base_url: str, rate: float, duration: float,
                   requests: Callable[[int], Request] | Request = Request(), timeout: float = 10,
                   max_in_flight: int = 1000, headers: dict[str, str] | None = None,
                   cookies: dict[str, str] | None = None, hash_bodies: bool = False) -> Report:
    """Send round(rate * duration) requests, request i due at i / rate s; wait for every answer (each bounded by
    `timeout`) and return the report. `requests(i)` gives the i-th request (or one Request for all)."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    build = _request_for(requests)
    fixed = dict(headers or {})
    if cookies:
        # One fixed Cookie header, not a jar: every request carries the same session whatever the answers set.
        fixed["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    connector = aiohttp.TCPConnector(limit=max_in_flight, limit_per_host=0, ttl_dns_cache=None)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout),
                                     cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False) as session:
        # aiohttp resends an idempotent request once when a reused keep-alive connection turns out closed;
        # the generator must count that as the failure it is, never hide it.
        session._retry_connection = False
        run = _Run(session, base_url, fixed, max_in_flight, hash_bodies)
        await _schedule(run, build, rate, round(rate * duration))
    return Report(rate=rate, duration=duration, results=run.results)


async def _schedule(run: _Run, build: Callable[[int], Request], rate: float, count: int) -> None:
    """Start every due request, then sleep until the next slot; a full gate delays starts, never drops them."""
    tasks: set[asyncio.Task] = set()
    run.zero = time.perf_counter()
    for index in range(count):
        intended = index / rate
        wait = intended - run.now()
        if wait > 0:
            await asyncio.sleep(wait)
        await run.gate.acquire()
        task = asyncio.create_task(run.send(build(index), intended))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))


def run(base_url: str, rate: float, duration: float, requests: Callable[[int], Request] | Request = Request(),
        **options) -> Report:
    """`run_open` in a fresh event loop."""
    return asyncio.run(run_open(base_url, rate, duration, requests, **options))


def _parse_header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(":")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--rate", type=float, required=True, help="requests started per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of schedule")
    parser.add_argument("--path", action="append", help="request path; several are used in turn (default /)")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per request")
    parser.add_argument("--max-in-flight", type=int, default=1000)
    parser.add_argument("--header", action="append", type=_parse_header, default=[], help="'Name: value'")
    parser.add_argument("--bucket", type=float, default=0.1, help="timeline bucket, seconds")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    return parser.parse_args(argv)


def _human(summary: dict, window: float) -> str:
    lines = [
        f"offered {summary['rate']:g}/s for {summary['duration']:g} s: sent {summary['sent']}, "
        f"achieved {summary['achieved_rate']:g}/s, late starts {summary['late_starts']}",
        f"ok {summary['ok']}, 4xx {summary['client_errors']}, failed {summary['failed']}"
        + (f" {summary['failures_by_reason']}" if summary["failed"] else ""),
        f"latency from intended start (ms): p50 {summary['p50_ms']}, p90 {summary['p90_ms']}, "
        f"p99 {summary['p99_ms']}, max {summary['max_ms']}",
        f"longest failure window: {window:.3f} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    paths = args.path or ["/"]
    plan = [Request(method=args.method, path=path) for path in paths]
    report = run(args.url, args.rate, args.duration, lambda index: plan[index % len(plan)], timeout=args.timeout,
                 max_in_flight=args.max_in_flight, headers=dict(args.header))
    summary, window = report.summary(), report.longest_failure_window()
    if args.json:
        print(json.dumps({**summary, "timeline": report.timeline(args.bucket), "longest_failure_window_s": window}))
    else:
        print(_human(summary, window))
    return 0


if __name__ == "__main__":
    sys.exit(main())
