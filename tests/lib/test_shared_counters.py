"""The fixed-window counters: reserving an event and giving exactly it back."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from strongbox.lib import ratelimit


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_reserve_refuses_beyond_the_limit_and_release_gives_one_back():
    assert [ratelimit.reserve("t:a", 2, 60)[0] for _ in range(2)] == [None, None]
    wait, key = ratelimit.reserve("t:a", 2, 60)
    assert 0 < wait <= 60
    ratelimit.release(key)
    _, key = ratelimit.reserve("t:a", 2, 60)
    ratelimit.release(key)
    ratelimit.release(key)
    assert ratelimit.reserve("t:a", 2, 60)[0] is None


def test_release_gives_back_to_the_window_it_was_reserved_in(monkeypatch):
    now = [1_000_020.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    _, old = ratelimit.reserve("t:b", 1, 60)
    now[0] += 60  # the next window
    _, new = ratelimit.reserve("t:b", 1, 60)
    ratelimit.release(old)
    assert ratelimit.reserve("t:b", 1, 60)[0] is not None  # the new window's count was not touched
    assert old != new


def test_release_of_a_counter_that_is_gone_is_no_error():
    _, key = ratelimit.reserve("t:c", 1, 60)
    cache.delete(key)
    ratelimit.release(key)


def test_parallel_reservations_never_exceed_the_limit():
    with ThreadPoolExecutor(max_workers=16) as pool:
        waits = list(pool.map(lambda _: ratelimit.reserve("t:d", 5, 60)[0], range(64)))
    assert waits.count(None) == 5
