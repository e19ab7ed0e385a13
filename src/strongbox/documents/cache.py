"""Per-user cached values, each stored with the version of the user's documents it was computed under.

Every write to a user's documents (and to their notifications, which are about documents) bumps the user's
version once its transaction commits, so a value computed from data that is no longer current is never served
under the current version. A value is read together with the current version, in one cache call (`Entry`: one
round trip to Redis, where a key naming the version would need the version first), and is found only when it was
stored with that version; a value of an older version is replaced by the next one computed.

Bumping after the commit alone is enough because a value carries the version read *before* it is computed: a
request that computed from data older than the commit read its version before the bump that follows the commit,
so it stored its value with the old version, which no request accepts once the bump is done. Between the commit
and the bump other requests may still be served the old values, as with any invalidation. (Bumping also before
the commit, as this module once did, only mattered for reads of cached values inside the writing transaction, and
forced a second bump at commit for the values cached in between; it cost a cache call while the transaction held
its locks, which with an unreachable cache meant waiting on its timeout with rows locked. Services do not read
cached values inside the transactions that change documents.)

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


def _read(user_id: int, *keys: str) -> tuple[int, dict]:
    """Return the user's current documents version and the values found under `keys`, read together in one call
    (one round trip to Redis); with replicas, make this request's reads see the writes behind the version."""
    found = cache.get_many([_version_key(user_id), _position_key(user_id), *keys])
    current = found.get(_version_key(user_id))
    dbrouter.read_at_least(found.get(_position_key(user_id), 0))
    if current is None:
        cache.add(_version_key(user_id), _new_version(), timeout=None)
        current = cache.get(_version_key(user_id), _new_version())
    return current, found


def version(user_id: int) -> int:
    """Return the user's current documents version; with replicas, make this request's reads see the writes
    behind it."""
    return _read(user_id)[0]


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


def bump_document(document) -> None:
    """Invalidate the cached values of everyone who sees `document` when the transaction commits: its owner and the
    users it is shared with (sharing.Share), read now."""
    bump(document.owner_id)
    for user_id in document.shares.values_list("user_id", flat=True):
        bump(user_id)


class Entry:
    """A value of the user's documents, looked up with the current version in one cache call: found when the
    value cached under its key was computed under that version."""

    def __init__(self, user_id: int, name: str, *parts: object):
        digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
        self.key = f"documents:{user_id}:{name}:{digest}"
        self.version, found = _read(user_id, self.key)
        stored = found.get(self.key)
        self._value = stored[1] if isinstance(stored, tuple) and stored[0] == self.version else _MISSING

    @property
    def etag(self) -> str:
        """An ETag for a response computed from this value: it changes with the version."""
        return f'"{hashlib.sha256(f"{self.key}:{self.version}".encode()).hexdigest()[:32]}"'

    def get(self, compute: Callable[[], T]) -> T:
        """Return the value, computing and storing it (tagged with the version read before) if it was missing."""
        if self._value is _MISSING:
            self._value = compute()
            cache.set(self.key, (self.version, self._value), VALUE_TTL)
        return self._value


def cached(user_id: int, name: str, compute: Callable[[], T], *parts: object) -> T:
    """Return the cached value for (user, name, parts) under the current version, computing it on a miss."""
    return Entry(user_id, name, *parts).get(compute)
