"""Per-user cached values with versioned keys.

Every write to a user's documents bumps the user's version, once at once and once more after the transaction
commits, so a value computed from data that is no longer current is never found under the current version: not
even one cached by a concurrent request between the write and its commit. Old versions simply expire.
"""

import hashlib
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")
VALUE_TTL = 3600
_MISSING = object()


def _version_key(user_id: int) -> str:
    return f"documents:version:{user_id}"


def _new_version() -> int:
    # After an eviction the counter restarts from the clock, never from a number an older value may still carry.
    return time.time_ns()


def version(user_id: int) -> int:
    """Return the user's current documents version."""
    current = cache.get(_version_key(user_id))
    if current is None:
        cache.add(_version_key(user_id), _new_version(), timeout=None)
        current = cache.get(_version_key(user_id), _new_version())
    return current


def _bump(user_id: int) -> None:
    try:
        cache.incr(_version_key(user_id))
    except ValueError:  # no version yet, or evicted
        cache.set(_version_key(user_id), _new_version(), timeout=None)


def bump(user_id: int) -> None:
    """Invalidate every cached value of the user's documents, now and again when the transaction commits."""
    _bump(user_id)
    transaction.on_commit(lambda: _bump(user_id))


def key(user_id: int, name: str, *parts: object) -> str:
    """Return a cache key for a value of the user's documents under their current version."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"documents:{user_id}:{version(user_id)}:{name}:{digest}"


def cached(user_id: int, name: str, compute: Callable[[], T], *parts: object) -> T:
    """Return the cached value for (user, name, parts) under the current version, computing it on a miss."""
    cache_key = key(user_id, name, *parts)
    value = cache.get(cache_key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(cache_key, value, VALUE_TTL)
    return value
