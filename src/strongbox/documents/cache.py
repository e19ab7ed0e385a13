"""Per-user cached values with versioned keys.

Every write to a user's documents (and to their notifications, which are about documents) bumps the user's
version once its transaction commits, so a value computed from data that is no longer current is never found under
the current version. Old versions simply expire.

Bumping after the commit alone is enough because a value's key carries the version read *before* the value is
computed (`cached`): a request that computed from data older than the commit read its version before the bump
that follows the commit, so it cached under the old version, which no request reads once the bump is done. Between
the commit and the bump other requests may still be served the old values, as with any invalidation. (Bumping
also before the commit, as this module once did, only mattered for reads of cached values inside the writing
transaction, and forced a second bump at commit for the values cached in between; it cost a cache call while the
transaction held its locks, which with an unreachable cache meant waiting on its timeout with rows locked.
Services do not read cached values inside the transactions that change documents.)

With read replicas, a bump also records the primary's WAL position after the commit, and whoever reads the
version reads the user's documents only from a replica that has replayed that far (or from the primary): a value
computed under the new version on a replica that had not yet replayed the write (the task worker's text
extraction, say, which the reader's own pin cookie knows nothing of) would be stale for as long as it is cached.
"""

import hashlib
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

from strongbox.ops import dbrouter

T = TypeVar("T")
VALUE_TTL = 3600
_MISSING = object()


def _version_key(user_id: int) -> str:
    return f"documents:version:{user_id}"


def _position_key(user_id: int) -> str:
    return f"documents:position:{user_id}"


def _new_version() -> int:
    # After an eviction the counter restarts from the clock, never from a number an older value may still carry.
    return time.time_ns()


def version(user_id: int) -> int:
    """Return the user's current documents version; with replicas, make this request's reads see the writes
    behind it."""
    found = cache.get_many([_version_key(user_id), _position_key(user_id)])
    current = found.get(_version_key(user_id))
    dbrouter.read_at_least(found.get(_position_key(user_id), 0))
    if current is None:
        cache.add(_version_key(user_id), _new_version(), timeout=None)
        current = cache.get(_version_key(user_id), _new_version())
    return current


def _bump(user_id: int) -> None:
    position = dbrouter.write_position()
    if position:
        # Before the version changes, so a reader of the new version finds the position that goes with it.
        cache.set(_position_key(user_id), position, timeout=VALUE_TTL)
    try:
        cache.incr(_version_key(user_id))
    except ValueError:  # no version yet, or evicted
        cache.set(_version_key(user_id), _new_version(), timeout=None)


def bump(user_id: int) -> None:
    """Invalidate every cached value of the user's documents when the transaction commits (at once outside one)."""
    # robust: the write has committed; a cache that fails here must not turn it into an error page.
    transaction.on_commit(lambda: _bump(user_id), robust=True)


def key(user_id: int, name: str, *parts: object) -> str:
    """Return a cache key for a value of the user's documents under their current version."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"documents:{user_id}:{version(user_id)}:{name}:{digest}"


def cached(user_id: int, name: str, compute: Callable[[], T], *parts: object) -> T:
    """Return the cached value for (user, name, parts) under the current version, computing it on a miss."""
    return fetch(key(user_id, name, *parts), compute)


def fetch(cache_key: str, compute: Callable[[], T]) -> T:
    """Return the value cached under a key made by `key()`, computing and storing it on a miss."""
    value = cache.get(cache_key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(cache_key, value, VALUE_TTL)
    return value


def etag(cache_key: str) -> str:
    """Return an ETag for a response computed from a value under `cache_key`: it changes with the version."""
    return f'"{hashlib.sha256(cache_key.encode()).hexdigest()[:32]}"'
