"""Periodic jobs that run once across the cluster, however many workers schedule them.

Every `strongbox worker` runs Huey's scheduler, so each enqueues every periodic job at its time. The first copy
to start claims the job in the shared cache for half its interval; the other copies find the claim and return.
Half the interval absorbs clock skew and queue delays between workers, and has expired by the next run.
"""

import functools
import logging
import os
import socket

from django.core.cache import cache

log = logging.getLogger(__name__)


def once_per_interval(seconds: int):
    """Let the decorated job run at most once per `seconds / 2` across every worker sharing the cache."""

    def decorate(job):
        @functools.wraps(job)
        def claimed(*args, **kwargs):
            key = f"periodic:{job.__module__}.{job.__qualname__}"
            if not cache.add(key, f"{socket.gethostname()}:{os.getpid()}", timeout=seconds // 2):
                log.info("%s already ran on %s; skipped", job.__qualname__, cache.get(key))
                return None
            return job(*args, **kwargs)

        return claimed

    return decorate
