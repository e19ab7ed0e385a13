"""Fixed-window counters in Django's cache, for rate limits and lockouts that hold across app servers.

`cache.add` + `cache.incr` are atomic in every backend Strongbox uses, so concurrent requests cannot both slip under
a limit. While Redis is unreachable the Redis cache (ops/cache.py) keeps counting in each process, so a limit
still holds per process instead of every call counting as the first.
"""

import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)
ATTEMPTS = 3


def _key(ident: str, window: int, now: int) -> str:
    return f"ratelimit:{ident}:{window}:{now // window}"


def _count(key: str, window: int) -> int | None:
    # incr first: a window's counter exists for all but its first event, and each cache write costs (every API
    # call is counted).
    for _ in range(ATTEMPTS):
        try:
            return cache.incr(key)
        except ValueError:  # the window's first event, evicted, or the cache lost the add (Redis went away or
            cache.add(key, 0, timeout=window + 5)  # came back in between): start the counter and count again
    return None


def hit(ident: str, limit: int, window: int) -> int | None:
    """Count one event for `ident`; return seconds until the window ends if this one is over `limit`, else None."""
    return reserve(ident, limit, window)[0]


def reserve(ident: str, limit: int, window: int) -> tuple[int | None, str | None]:
    """Count one event for `ident`, as `hit` does, and also return the counter's key (None if it went uncounted),
    so that `release` can give exactly this event back later, even once the window has ended."""
    now = int(time.time())
    key = _key(ident, window, now)
    count = _count(key, window)
    if count is None:
        # Loudly, not as a silent "1": this event went uncounted.
        log.warning("rate limit %s: the cache could not count this event in %s attempts", ident, ATTEMPTS)
        return None, None
    return (window - now % window if count > limit else None), key


def release(key: str) -> None:
    """Give back one event counted under `key` by `reserve`."""
    try:
        cache.incr(key, -1)
    except ValueError:  # the window ended and its counter is gone: nothing left to give back
        pass

