"""Django's Redis cache, made to degrade in milliseconds instead of failing when Redis is unreachable or hangs.

A Redis that refuses connections fails fast by itself; one that hangs (a partition, a frozen server) makes every
call wait its socket timeout, and a page makes a dozen cache calls. So after one failed call a circuit breaker
skips Redis for `circuit_open_seconds`: reads answer a miss and writes are dropped at once. Then a single call is
let through as a probe; if it succeeds the breaker closes, if not it stays open for another period.

A dropped write may have been an invalidation (a bumped version, a deleted key), so before the probe's answer is
trusted it deletes every key of ours: what was cached before the outage may no longer be true. That flush happens
once per process per outage, because the breaker's state lives in one `Outage` object per Redis namespace that
every thread's cache object shares (Django makes one cache object per thread and alias), and because writes that
would leave a stale value behind wait for a probe in flight instead of being dropped behind it.

A process that dropped such a write does not wait for its next cache call to flush: other processes still read
Redis, and a task worker that dropped the invalidation of a text it extracted may make no other call for hours.
So a dropped write also schedules a probe of its own in a background thread once the open period ends, and again
after each failed probe, until the flush is done.

Counters (`add` + `incr` of integers, as rate limits and lockouts use them) keep counting in the process while
Redis is skipped, so limits still hold per process instead of restarting at 1 with every call. When Redis returns
the flush takes its counters too, and the local counts are discarded: limits are lenient for at most one window.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError, TimeoutError  # noqa: A004 (redis's names, not the builtins)

from strongbox.ops import metrics

log = logging.getLogger(__name__)
UNREACHABLE = (ConnectionError, TimeoutError)
ABSENT = object()  # what a read returns for a key the cache does not hold, told apart from a stored None
OPEN_SECONDS = 5.0


@dataclass(frozen=True)
class Ticket:
    """Leave to call Redis: as usual, or as the probe that ends an outage (after a flush if writes were lost)."""

    probe: bool = False
    flush: bool = False


_AS_USUAL = Ticket()


class LocalCounters:
    """Integers counted in this process while Redis is skipped, with their expiry. The caller holds the lock."""

    LIMIT = 10_000  # a long outage under a flood of new keys must not grow the process without bound

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._values: dict[str, tuple[int, float | None]] = {}

    def _alive(self, key: str) -> tuple[int, float | None] | None:
        entry = self._values.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= self._clock():
            del self._values[key]
            return None
        return entry

    def get(self, key: str, default=None):
        entry = self._alive(key)
        return default if entry is None else entry[0]

    def add(self, key: str, value: int, timeout: float | None) -> bool:
        if self._alive(key) is not None:
            return False
        if timeout is not None and timeout <= 0:
            return True  # added and expired at once, as Django's backends do for a zero timeout
        if len(self._values) >= self.LIMIT:
            self._evict()
        self._values[key] = (value, None if timeout is None else self._clock() + timeout)
        return True

    def incr(self, key: str, delta: int) -> int:
        entry = self._alive(key)
        if entry is None:
            raise ValueError(f"Key '{key}' not found (counted in this process while the cache is unreachable)")
        self._values[key] = (entry[0] + delta, entry[1])
        return entry[0] + delta

    def delete(self, key: str) -> bool:
        return self._values.pop(key, None) is not None

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def _evict(self) -> None:
        now = self._clock()
        self._values = {k: v for k, v in self._values.items() if v[1] is None or v[1] > now}
        while len(self._values) >= self.LIMIT:
            del self._values[next(iter(self._values))]  # the oldest key (dicts keep insertion order)


class Outage:
    """The breaker of one Redis namespace in this process, shared by every thread's cache object."""

    def __init__(self, open_seconds: float = OPEN_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.open_seconds = open_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self._changed = threading.Condition(self.lock)
        self.open_until: float | None = None  # None: closed, Redis is used
        self.probing = False
        self.dropped_writes = False
        self.flushes = 0
        self.counters = LocalCounters(lambda: self.clock())  # one clock for both, swappable by tests
        self.recover: Callable[[], None] | None = None  # a cache's probe, for the background retry
        self._retry: threading.Timer | None = None

    @property
    def available(self) -> bool:
        return self.open_until is None

    def admit(self, *, stale_if_dropped: bool) -> Ticket | None:
        """Return a ticket to call Redis, or None to do without it. A call that would leave a stale value behind
        if dropped waits for a probe in flight instead (dropping it then would need a second flush), and is noted
        when it is dropped, under the same lock, so no probe can miss it."""
        with self.lock:
            while True:
                if self.open_until is None:
                    return _AS_USUAL
                if self.probing and stale_if_dropped:
                    self._changed.wait(1)
                    continue
                if self.probing or self.clock() < self.open_until:
                    self.dropped_writes = self.dropped_writes or stale_if_dropped
                    return None
                self.probing = True
                return Ticket(probe=True, flush=self.dropped_writes)

    def flushed(self) -> None:
        with self.lock:
            self.dropped_writes = False
            self.flushes += 1

    def failed(self, ticket: Ticket, error: Exception, *, dropped: bool) -> None:
        with self.lock:
            if self.open_until is None:
                log.warning("Redis cache unreachable, serving without it for %s s: %s", self.open_seconds, error)
            self.open_until = self.clock() + self.open_seconds
            self.dropped_writes = self.dropped_writes or dropped
            if ticket.probe:
                self.probing = False
                self._changed.notify_all()
        self.retry_later()

    def retry_later(self) -> None:
        """With a dropped write outstanding, probe (and flush) from a background thread once the open period
        ends, whether or not this process calls the cache again."""
        with self.lock:
            if not self.dropped_writes or self.recover is None or self._retry is not None:
                return
            delay = max(0.0, (self.open_until or self.clock()) - self.clock())
            self._retry = threading.Timer(delay, self._retry_now)
            self._retry.daemon = True
            self._retry.start()

    def _retry_now(self) -> None:
        with self.lock:
            self._retry = None
        try:
            self.recover()
        except Exception:  # noqa: BLE001 - a background retry must never die noisily; the next call probes anyway
            log.exception("Redis cache: the background probe failed")
        self.retry_later()

    def answered(self, ticket: Ticket) -> None:
        """Redis answered `ticket`'s call: after a probe, trust it again."""
        if not ticket.probe:
            return
        with self.lock:
            self.probing = False
            if self.dropped_writes:
                # A call that started before the outage failed during the probe: probe (and flush) again now.
                self.open_until = self.clock()
            else:
                self.open_until = None
                self.counters.clear()
                log.warning("Redis cache reachable again")
            self._changed.notify_all()


_outages: dict[tuple, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(namespace: tuple, open_seconds: float) -> Outage:
    """Return this process's one Outage for a Redis namespace (location, key prefix, version)."""
    with _outages_lock:
        if namespace not in _outages:
            _outages[namespace] = Outage(open_seconds)
        return _outages[namespace]


def _after_fork() -> None:
    # A forked child (a server worker) starts with closed breakers and locks no thread of the parent held. The
    # objects stay, reset, since cache objects made before the fork already refer to them.
    global _outages_lock
    _outages_lock = threading.Lock()
    for outage in _outages.values():
        recover = outage.recover
        outage.__init__(outage.open_seconds, outage.clock)
        outage.recover = recover


os.register_at_fork(after_in_child=_after_fork)


class ResilientRedisCache(RedisCache):
    """RedisCache behind a per-process circuit breaker. OPTIONS may set `circuit_open_seconds` (default 5)."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        open_seconds = float(options.pop("circuit_open_seconds", OPEN_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        self.outage = outage_for((repr(server), self.key_prefix, self.version), open_seconds)
        self.outage.recover = self._probe

    @property
    def available(self) -> bool:
        """Whether the breaker is closed (Redis is being used)."""
        return self.outage.available

    def _call(self, method, *args, local: Callable[[], object], stale_if_dropped: bool = False, reads: int = 0,
              found: Callable[[object], int] | None = None):
        """Call Redis unless the breaker says not to; `local` answers without it. `stale_if_dropped`: the call
        changes or removes a value, so dropping it needs a flush before Redis is trusted again. A read of `reads`
        keys is counted in the metrics: `found(result)` of them hits, the others misses, all errors without Redis."""
        outage = self.outage
        ticket = outage.admit(stale_if_dropped=stale_if_dropped)
        if ticket is None:
            if stale_if_dropped:
                outage.retry_later()
            metrics.cache_reads(errors=reads)
            with outage.lock:
                return local()
        try:
            if ticket.flush:
                self._delete_ours()
                outage.flushed()
                log.warning("Redis cache emptied of the keys written before the outage")
            result = method(*args)
        except UNREACHABLE as error:
            outage.failed(ticket, error, dropped=stale_if_dropped)
            metrics.cache_reads(errors=reads)
            with outage.lock:
                return local()
        except BaseException:
            outage.answered(ticket)  # Redis answered, with an error of the caller's making (e.g. incr of no key)
            raise
        outage.answered(ticket)
        if reads:
            hits = found(result)
            metrics.cache_reads(hits=hits, misses=reads - hits)
        return result

    def _delete_ours(self):
        # Only this cache's keys (by KEY_PREFIX and version): the task queue may share the Redis database.
        client = self._cache.get_client(write=True)
        for keys in _batches(client.scan_iter(match=self.make_key("*"), count=1000), 500):
            client.delete(*keys)

    def _local_timeout(self, timeout):
        return self.default_timeout if timeout is DEFAULT_TIMEOUT else timeout

    def _probe(self) -> None:
        # Any call lets the probe through once the open period is over; this one reads a key nobody writes.
        self.get(":probe")

    def ping(self) -> None:
        """Raise if Redis does not answer (for /readyz), whatever the breaker says."""
        self._cache.get_client().ping()

    def _counters(self, operation: str, key, *args, version=None):
        """Return a function that applies a LocalCounters operation to the key (made only if Redis is skipped)."""
        return lambda: getattr(self.outage.counters, operation)(self.make_key(key, version=version), *args)

    def get(self, key, default=None, version=None):
        value = self._call(super().get, key, ABSENT, version, reads=1, found=lambda value: value is not ABSENT,
                           local=self._counters("get", key, ABSENT, version=version))
        return default if value is ABSENT else value

    def get_many(self, keys, version=None):
        keys = list(keys)
        return self._call(super().get_many, keys, version, local=dict, reads=len(keys), found=len)

    def has_key(self, key, version=None):
        counted = self._counters("get", key, version=version)
        return self._call(super().has_key, key, version, local=lambda: counted() is not None)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Without Redis a value is not kept, and a count kept here would now be stale.
        self._call(super().set, key, value, timeout, version, stale_if_dropped=True,
                   local=self._counters("delete", key, version=version))

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set_many, data, timeout, version, stale_if_dropped=True, local=lambda: list(data))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Dropping an add leaves nothing stale (it writes only a key that was not there): no flush for it.
        # Without Redis only counters are kept: nothing else is worth keeping in the process.
        local = (self._counters("add", key, value, self._local_timeout(timeout), version=version)
                 if type(value) is int else lambda: False)
        return self._call(super().add, key, value, timeout, version, local=local)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().touch, key, timeout, version, local=lambda: False)

    def incr(self, key, delta=1, version=None):
        return self._call(super().incr, key, delta, version, stale_if_dropped=True,
                          local=self._counters("incr", key, delta, version=version))

    def delete(self, key, version=None):
        return self._call(super().delete, key, version, stale_if_dropped=True,
                          local=self._counters("delete", key, version=version))

    def delete_many(self, keys, version=None):
        self._call(super().delete_many, keys, version, stale_if_dropped=True,
                   local=lambda: [self._counters("delete", key, version=version)() for key in keys])

    def clear(self):
        """Delete this cache's keys, not the whole Redis database (unlike RedisCache.clear)."""
        self._call(self._delete_ours, stale_if_dropped=True, local=self.outage.counters.clear)


def _batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
