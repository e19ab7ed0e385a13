"""The embedded shape's cache is one store for every process: counters stay exact under concurrent processes."""

import subprocess
import sys

from strongbox.ops.diskcache import SharedDiskCache

PROCESSES, INCREMENTS = 4, 200
COUNT = f"""
import sys
from strongbox.ops.diskcache import SharedDiskCache
cache = SharedDiskCache(sys.argv[1], {{"KEY_PREFIX": "strongbox", "SHARDS": 4, "DATABASE_TIMEOUT": 0.25}})
cache.add("hits", 0, timeout=None)
for _ in range({INCREMENTS}):
    cache.incr("hits")
"""


def make(location) -> SharedDiskCache:
    return SharedDiskCache(str(location), {"KEY_PREFIX": "strongbox", "SHARDS": 4, "DATABASE_TIMEOUT": 0.25})


def test_it_counts_every_increment_of_several_processes_at_once(tmp_path):
    counters = [subprocess.Popen([sys.executable, "-c", COUNT, str(tmp_path)]) for _ in range(PROCESSES)]  # noqa: S603
    assert [counter.wait(timeout=120) for counter in counters] == [0] * PROCESSES
    assert make(tmp_path).get("hits") == PROCESSES * INCREMENTS


def test_a_value_outlives_the_end_of_a_request_and_is_seen_by_another_process(tmp_path):
    cache = make(tmp_path)
    cache.set("totals", {"count": 3}, timeout=60)
    cache.close()  # what Django does when a request ends
    assert cache.get("totals") == {"count": 3}
    assert make(tmp_path).get("totals") == {"count": 3}
