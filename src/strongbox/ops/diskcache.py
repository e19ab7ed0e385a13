"""The embedded shape's shared cache: diskcache's Django backend, keeping its SQLite connections between requests.

Django closes every cache when a request ends (`request_finished`), which for diskcache means closing each shard's
SQLite connection and opening it again, with its PRAGMAs, in the next request. The connections are per thread and
the app server's threads live as long as the process, so they stay open instead (bench/embedded_cache.py measures
both).
"""

from diskcache import DjangoCache

from strongbox.ops import metrics
from strongbox.ops.cache import ABSENT


class SharedDiskCache(DjangoCache):
    def get(self, key, default=None, version=None, **options):
        """Read a key, counted as a hit or a miss (Django's get_many reads each key through here)."""
        value = super().get(key, ABSENT, version, **options)
        if value is ABSENT:
            metrics.cache_reads(misses=1)
            return default
        metrics.cache_reads(hits=1)
        return value

    def close(self, **kwargs):
        """Keep the connections: they are per thread and reused by the thread's next request."""
