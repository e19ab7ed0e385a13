"""Django's Redis cache, made to degrade instead of fail when Redis is unreachable.

Every read answers a miss and every write is dropped while Redis is away, so pages that need only the database
keep working. A dropped write may have been an invalidation (a bumped version, a deleted key), so the first
successful call after one deletes every key of ours: what was cached before the outage may no longer be true.
Counters restart too (rate limits are lenient for one window); `cached_db` sessions reload from the database.
"""

import logging
import threading

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError, TimeoutError  # noqa: A004 (redis's names, not the builtins)

log = logging.getLogger(__name__)
UNREACHABLE = (ConnectionError, TimeoutError)


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._lock = threading.Lock()
        self._dropped_writes = False
        self.available = True

    def _call(self, method, *args, fallback=None, write=False, **kwargs):
        try:
            if self._dropped_writes:
                self._forget_everything()
            result = method(*args, **kwargs)
        except UNREACHABLE as error:
            if self.available:
                log.warning("Redis cache unreachable, serving without it: %s", error)
            self.available = False
            self._dropped_writes = self._dropped_writes or write
            return fallback
        if not self.available:
            log.warning("Redis cache reachable again")
            self.available = True
        return result

    def _forget_everything(self):
        with self._lock:
            if not self._dropped_writes:
                return
            self._delete_ours()
            self._dropped_writes = False
            log.warning("Redis cache emptied of the keys written before the outage")

    def _delete_ours(self):
        # Only this cache's keys (by KEY_PREFIX and version): the task queue may share the Redis database.
        client = self._cache.get_client(write=True)
        for keys in _batches(client.scan_iter(match=self.make_key("*"), count=1000), 500):
            client.delete(*keys)

    def ping(self) -> None:
        """Raise if Redis does not answer (for /readyz)."""
        self._cache.get_client().ping()

    def get(self, key, default=None, version=None):
        return self._call(super().get, key, default, version, fallback=default)

    def get_many(self, keys, version=None):
        return self._call(super().get_many, keys, version, fallback={})

    def has_key(self, key, version=None):
        return self._call(super().has_key, key, version, fallback=False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(super().set, key, value, timeout, version, write=True)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set_many, data, timeout, version, write=True, fallback=list(data))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().add, key, value, timeout, version, write=True, fallback=False)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().touch, key, timeout, version, write=True, fallback=False)

    def incr(self, key, delta=1, version=None):
        # Unreachable reads like a missing key, which callers already handle (they start the count again).
        result = self._call(super().incr, key, delta, version, write=True, fallback=_MISSING)
        if result is _MISSING:
            raise ValueError(f"Key '{key}' not found (the cache is unreachable)")
        return result

    def delete(self, key, version=None):
        return self._call(super().delete, key, version, write=True, fallback=False)

    def delete_many(self, keys, version=None):
        self._call(super().delete_many, keys, version, write=True)

    def clear(self):
        """Delete this cache's keys, not the whole Redis database (unlike RedisCache.clear)."""
        self._call(self._delete_ours, write=True)


_MISSING = object()


def _batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
