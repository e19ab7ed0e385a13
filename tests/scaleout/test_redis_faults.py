"""The Redis cache against a real redis-server of the test's own, frozen with SIGSTOP (connections accepted,
nothing answered, as behind a partition): pages stay fast, one flush per process, no stale value afterwards, and
limits keep counting. Runs in both passes; needs the redis-server binary."""

import shutil
import statistics
import threading
import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.urls import reverse

from services.common import in_ci
from services.redis import RedisServer
from strongbox.documents import selectors

pytestmark = pytest.mark.django_db
TIMEOUT = 0.25


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        if in_ci():
            pytest.fail("redis-server is not installed, and CI=true needs every test to run")
        pytest.skip("needs the redis-server binary")
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()  # continues a frozen server before stopping it


def cache_config(server: RedisServer, open_seconds: float = 5) -> dict:
    return {"BACKEND": "strongbox.ops.cache.ResilientRedisCache", "LOCATION": server.url,
            "KEY_PREFIX": uuid.uuid4().hex,  # a breaker of its own (they are per namespace and process)
            "OPTIONS": {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT,
                        "circuit_open_seconds": open_seconds}}


def wait_until_available(alias: str, deadline: float = 10) -> None:
    """Call the cache until a probe has closed the breaker."""
    cache, until = caches[alias], time.monotonic() + deadline
    while not cache.available:
        assert time.monotonic() < until, "the breaker did not close after Redis came back"
        cache.get("probe")
        time.sleep(0.02)


def scans(server: RedisServer) -> int:
    return redis.Redis.from_url(server.url).info("commandstats").get("cmdstat_scan", {}).get("calls", 0)


def test_it_flushes_once_per_process_however_many_threads_dropped_writes(settings, redis_server):
    settings.CACHES = {**settings.CACHES, "faults": cache_config(redis_server, open_seconds=0.3)}
    caches["faults"].set("before", "cached before the outage", None)
    stop = threading.Event()
    errors = []

    def work(number: int):
        cache = caches["faults"]  # one cache object per thread, as in a threaded server
        try:
            while not stop.is_set():
                cache.set(f"thread:{number}", number)
                cache.get("before")
                cache.delete(f"gone:{number}")
        except Exception as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    with redis_server.frozen():
        for thread in threads:
            thread.start()
        time.sleep(1)  # every thread drops writes; the breaker opens and probes again a few times
    wait_until_available("faults")
    caches["faults"].set("after", "written after the outage", None)
    time.sleep(1)  # the threads keep writing: none may flush again
    stop.set()
    for thread in threads:
        thread.join()

    assert not errors
    assert scans(redis_server) == 1  # the old wrapper flushed once per thread
    assert caches["faults"].get("before") is None  # what was cached before the outage is gone...
    assert caches["faults"].get("after") == "written after the outage"  # ...and nothing written since


def test_a_process_that_dropped_an_invalidation_flushes_without_another_call(settings, redis_server):
    # Other processes keep reading Redis: the one that dropped the write must not wait for its own next call (a
    # task worker may make none for hours) to remove what the dropped write should have changed.
    settings.CACHES = {**settings.CACHES, "faults": cache_config(redis_server, open_seconds=0.3)}
    cache = caches["faults"]
    cache.set("version", 1, None)
    with redis_server.frozen():
        cache.set("version", 2, None)  # times out: the new version is lost, the old one stays in Redis
    other_process = redis.Redis.from_url(redis_server.url)
    key = cache.make_key("version")
    assert other_process.get(key) is not None  # what another process would read now: the stale version
    until = time.monotonic() + 5
    while other_process.get(key) is not None:  # this process makes no call: its background probe flushes
        assert time.monotonic() < until, "the dropped invalidation was left in Redis"
        time.sleep(0.05)
    assert cache.available and scans(redis_server) == 1


def test_the_list_page_answers_fast_while_redis_is_frozen(settings, redis_server, alice_client, uploaded):
    settings.CACHES = {**settings.CACHES, "default": cache_config(redis_server)}
    uploaded("txt", title="Lease")

    def page_seconds() -> float:
        started = time.monotonic()
        response = alice_client.get(reverse("documents:list"))
        assert response.status_code == 200 and b"Lease" in response.content
        return time.monotonic() - started

    normal = statistics.median(page_seconds() for _ in range(5))
    with redis_server.frozen():
        first = page_seconds()  # one cache call waits for the timeout, then the breaker opens
        frozen = statistics.median(page_seconds() for _ in range(5))
    # The old wrapper waited for the timeout on each of the page's cache calls: seconds per page.
    assert first < 3 * normal + 2 * TIMEOUT, (normal, first)
    assert frozen < 3 * normal + TIMEOUT / 2, (normal, frozen)


def test_a_value_invalidated_during_the_outage_is_not_served_after_it(settings, redis_server, alice, uploaded):
    settings.CACHES = {**settings.CACHES, "default": cache_config(redis_server, open_seconds=0.3)}
    assert selectors.user_totals(alice)["count"] == 0  # cached in Redis
    with redis_server.frozen():
        uploaded("txt", title="Lease")  # the upload succeeds; its invalidation of the cached totals is dropped
        assert selectors.user_totals(alice)["count"] == 1  # computed: the cache is skipped
    wait_until_available("default")
    assert selectors.user_totals(alice)["count"] == 1  # not the 0 cached before the outage
    uploaded("txt", title="Deed")
    assert selectors.user_totals(alice)["count"] == 2


def test_a_rate_limit_keeps_counting_while_redis_is_frozen(settings, redis_server, alice_client):
    settings.CACHES = {**settings.CACHES, "default": cache_config(redis_server)}
    settings.API_RATE_LIMIT = 3
    with redis_server.frozen():
        # Counted in the process from the first failure on: the old wrapper counted every call as the first.
        statuses = [alice_client.get("/api/v1/me").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_the_readiness_probe_of_a_redis_task_queue_gives_up_quickly_while_redis_hangs(redis_server, monkeypatch):
    from huey import RedisHuey

    from strongbox.ops import views

    # Configured as settings.HUEY is with Redis: the consumer's connections wait 2 s.
    pool = redis.ConnectionPool.from_url(redis_server.url, socket_connect_timeout=1, socket_timeout=2)
    monkeypatch.setattr(views, "HUEY", RedisHuey("strongbox", connection_pool=pool))
    views._check_tasks()
    with redis_server.frozen():
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            views._check_tasks()
        took = time.monotonic() - started
    assert took < 0.6, took  # the balancer's check allows 2 s for every probe of /readyz together
