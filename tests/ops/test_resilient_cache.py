"""The Redis cache's circuit breaker and local counters, against sockets that stand in for a Redis that hangs (a
listener that accepts connections and never answers) or refuses (a port nobody listens on): no Redis needed."""

import os
import socket
import threading
import time
import uuid

import pytest
from django.core.cache import caches

from services.common import free_port
from strongbox.lib import ratelimit
from strongbox.ops.cache import LocalCounters, Outage, ResilientRedisCache, Ticket

TIMEOUT = 0.2


class HangingServer:
    """Accept connections and read what is sent, never answer: a frozen Redis as its clients see it."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hanging():
    server = HangingServer()
    yield server
    server.close()


def config(port: int, **options) -> dict:
    # A key prefix of its own gives each test its own breaker (the breaker is per namespace and process).
    return {"BACKEND": "strongbox.ops.cache.ResilientRedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": uuid.uuid4().hex,
            "OPTIONS": {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT, **options}}


def make_cache(port: int, **options) -> ResilientRedisCache:
    settings = config(port, **options)
    return ResilientRedisCache(settings["LOCATION"], settings)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_it_waits_for_a_hanging_redis_once_and_then_skips_it(hanging):
    cache = make_cache(hanging.port)
    assert cache.get("totals", "miss") == "miss"
    assert len(hanging.connections) == 1 and not cache.available

    started = time.monotonic()
    for _ in range(30):
        cache.set("totals", 1)
        assert cache.get("totals") is None
        assert cache.get_many(["a", "b"]) == {}
    # 90 calls in less time than one timeout: not one of them waited for Redis (the old wrapper waited on each).
    assert time.monotonic() - started < TIMEOUT
    assert len(hanging.connections) == 1


def test_it_lets_one_probe_through_after_the_open_period(hanging):
    cache = make_cache(hanging.port, circuit_open_seconds=5)
    clock = cache.outage.clock = Clock()
    cache.get("a")
    clock.now += 4.9
    cache.get("a")
    assert len(hanging.connections) == 1

    clock.now += 0.2
    probe = threading.Thread(target=cache.get, args=("a",))
    probe.start()
    while len(hanging.connections) < 2:  # the probe is waiting on the hanging server...
        time.sleep(0.01)
    started = time.monotonic()
    assert cache.get("b", "miss") == "miss"  # ...and other reads do not wait for it
    assert time.monotonic() - started < TIMEOUT / 2
    probe.join()
    assert len(hanging.connections) == 2
    # The failed probe opened the breaker again.
    cache.get("a")
    assert len(hanging.connections) == 2


def test_every_thread_of_the_process_shares_one_breaker(settings, hanging):
    settings.CACHES = {**settings.CACHES, "hanging": config(hanging.port)}
    here = caches["hanging"]
    there = {}
    thread = threading.Thread(target=lambda: there.update(cache=caches["hanging"], value=caches["hanging"].get("k")))
    here.get("k")
    thread.start()
    thread.join()
    assert there["cache"] is not here and there["cache"].outage is here.outage
    # The other thread's cache object knew of the outage already: it did not wait on Redis itself.
    assert len(hanging.connections) == 1 and there["value"] is None


def test_a_write_that_could_leave_a_stale_value_waits_for_a_probe_in_flight():
    clock = Clock()
    outage = Outage(open_seconds=5, clock=clock)
    outage.failed(outage.admit(stale_if_dropped=False), OSError("down"), dropped=True)
    assert outage.admit(stale_if_dropped=True) is None  # open: dropped at once, and noted
    clock.now += 6
    probe = outage.admit(stale_if_dropped=False)
    assert probe.probe and probe.flush
    assert outage.admit(stale_if_dropped=False) is None  # a read does not wait for the probe

    tickets = []
    writer = threading.Thread(target=lambda: tickets.append(outage.admit(stale_if_dropped=True)))
    writer.start()
    writer.join(0.2)
    assert writer.is_alive()  # waiting, not dropped behind the flush
    outage.flushed()
    outage.answered(probe)
    writer.join(1)
    assert tickets and tickets[0] is not None and not tickets[0].probe and not tickets[0].flush
    assert outage.available and outage.flushes == 1


def test_a_call_that_failed_during_the_probe_makes_the_next_call_probe_and_flush_again():
    clock = Clock()
    outage = Outage(open_seconds=5, clock=clock)
    outage.failed(outage.admit(stale_if_dropped=False), OSError("down"), dropped=False)
    clock.now += 6
    probe = outage.admit(stale_if_dropped=False)
    outage.failed(Ticket(), OSError("late"), dropped=True)  # a call admitted before the outage
    outage.answered(probe)
    assert not outage.available
    again = outage.admit(stale_if_dropped=False)
    assert again.probe and again.flush


def test_rate_limits_keep_counting_while_redis_refuses(settings):
    settings.CACHES = {**settings.CACHES, "default": config(free_port())}
    assert [ratelimit.hit("api:user:1", 3, 60) for _ in range(3)] == [None, None, None]
    assert ratelimit.hit("api:user:1", 3, 60) is not None  # the old wrapper counted 1 on every call
    assert ratelimit.hit("api:user:2", 3, 60) is None  # each ident counts on its own


def test_the_api_answers_429_at_the_limit_while_redis_hangs(settings, hanging, alice_client):
    settings.CACHES = {**settings.CACHES, "default": config(hanging.port)}
    settings.API_RATE_LIMIT = 2
    assert [alice_client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]


def test_only_counters_are_kept_in_the_process(settings):
    cache = make_cache(free_port())
    assert cache.add("count", 0) and cache.incr("count") == 1 and cache.incr("count", 5) == 6
    assert cache.get("count") == 6
    assert not cache.add("count", 0)  # already there, as in Redis
    assert not cache.add("page", "<html>") and cache.get("page") is None
    with pytest.raises(ValueError):
        cache.incr("never-added")
    cache.delete("count")
    assert cache.get("count") is None


def test_local_counters_expire_with_their_window():
    clock = Clock()
    counters = LocalCounters(clock)
    counters.add("window", 0, timeout=60)
    counters.incr("window", 1)
    clock.now += 59
    assert counters.get("window") == 1
    clock.now += 2
    assert counters.get("window") is None
    with pytest.raises(ValueError):
        counters.incr("window", 1)
    assert counters.add("zero", 0, timeout=0) and counters.get("zero") is None


def test_local_counters_stay_bounded():
    counters = LocalCounters(Clock())
    counters.LIMIT = 3
    for name in "abcd":
        counters.add(name, 1, timeout=None)
    assert len(counters) == 3 and counters.get("a") is None and counters.get("d") == 1


def test_a_forked_child_starts_with_a_closed_breaker(hanging):
    cache = make_cache(hanging.port)
    cache.get("k")
    assert not cache.available
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through its exit status)
        os._exit(0 if cache.available and not cache.outage.lock.locked() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not cache.available  # the parent's outage goes on
