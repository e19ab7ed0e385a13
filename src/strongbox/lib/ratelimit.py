"""Fixed-window counters in Django's cache, for rate limits and lockouts that hold across app servers.

`cache.add` + `cache.incr` are atomic in every backend Strongbox uses (local memory and Redis), so concurrent
requests cannot both slip under a limit.
"""

import time

from django.core.cache import cache


def _key(ident: str, window: int, now: int) -> str:
    return f"ratelimit:{ident}:{window}:{now // window}"


def hit(ident: str, limit: int, window: int) -> int | None:
    """Count one event for `ident`; return seconds until the window ends if this one is over `limit`, else None."""
    now = int(time.time())
    key = _key(ident, window, now)
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=window + 5)
        count = 1
    return window - now % window if count > limit else None


def blocked(ident: str, limit: int, window: int) -> int | None:
    """Return seconds until the window ends if `ident` already used up `limit` events in it, else None."""
    now = int(time.time())
    return window - now % window if (cache.get(_key(ident, window, now)) or 0) >= limit else None
