"""The embedded shape's shared cache: diskcache's Django backend, keeping its SQLite connections between requests.

Django closes every cache when a request ends (`request_finished`), which for diskcache means closing each shard's
SQLite connection and opening it again, with its PRAGMAs, in the next request. The connections are per thread and
the app server's threads live as long as the process, so they stay open instead (bench/embedded_cache.py measures
both).
"""

from diskcache import DjangoCache


class SharedDiskCache(DjangoCache):
    def close(self, **kwargs):
        """Keep the connections: they are per thread and reused by the thread's next request."""
