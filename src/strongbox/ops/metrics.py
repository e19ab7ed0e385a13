"""Prometheus metrics: what each process counts, and what a scrape of /metrics reads at that moment.

An app server is several processes (granian's workers, and in the embedded shape the task worker), so counters and
histograms live in prometheus_client's multiprocess files: `serve` gives its children an empty directory of their
own in PROMETHEUS_MULTIPROC_DIR (ops/serve.py), and a scrape of any worker adds up every process's files. A
process started without it (a test, a management command) counts in memory, for itself.

Figures that are a state rather than a count (the queue, the replicas' lag, the data directory's disk, each
process's CPU and memory) are read when the scrape asks, by `StateCollector`, instead of being kept up to date
by every process.
"""

import hmac
import os
import shutil
import threading
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

from strongbox.lib.clientip import is_trusted

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
ROLE = os.environ.get("STRONGBOX_PROCESS_ROLE", "web")
# The text format every Prometheus 2 reads (names are written with underscores only, so it is also valid 1.0.0).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

REQUEST_SECONDS = Histogram(
    "strongbox_http_request_duration_seconds", "Time until the response started, by URL pattern and status.",
    ["route", "method", "status"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
QUERY_SECONDS = Histogram(
    "strongbox_db_query_duration_seconds", "Time of each database statement, by database alias.", ["database"],
    buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5))
CACHE_OPERATIONS = Counter(
    "strongbox_cache_operations", "Cache reads by result: hit, miss, or error (the cache was unreachable).",
    ["result"])
REPLICA_READS = Counter(
    "strongbox_replica_reads", "Which database the router sent each read to (default: the primary).", ["database"])
TASK_SECONDS = Histogram(
    "strongbox_task_duration_seconds", "Time of each job attempt, by job kind and outcome.", ["task", "outcome"],
    buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
TASK_LATENCY = Histogram(
    "strongbox_task_latency_seconds", "Time from a job's creation to the start of its first attempt.", ["task"],
    buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900))
EXTRACTIONS = Counter(
    "strongbox_extractions", "Text extractions by outcome: text, empty (no text in the file), failed, abandoned.",
    ["outcome"])
UPLOAD_BYTES = Counter("strongbox_upload_bytes", "Bytes of the uploads stored.")
UPLOADS = Counter("strongbox_uploads", "Uploads by outcome: stored, or refused (content, size or quota).",
                  ["outcome"])
# One sample per live process, so a scrape knows which processes to report on and what each one is.
_PROCESS = Gauge("strongbox_process_info", "A process of this server, by role (web or worker).", ["role"],
                 multiprocess_mode="all")

_ESTABLISHED = "01"


def process_started(role: str = ROLE) -> None:
    """Record this process (once it is the process that will count): the scrape then reports its CPU and memory."""
    _PROCESS.labels(role).set(1)


_HITS, _MISSES, _ERRORS = (CACHE_OPERATIONS.labels(result) for result in ("hit", "miss", "error"))


def cache_reads(*, hits: int = 0, misses: int = 0, errors: int = 0) -> None:
    for child, count in ((_HITS, hits), (_MISSES, misses), (_ERRORS, errors)):
        if count:
            child.inc(count)


def route_of(request) -> str | None:
    """Return the URL pattern the request matched (its view's name for the root pattern), or None."""
    match = getattr(request, "resolver_match", None)
    return match.route or match.view_name if match is not None else None


def observe_request(request, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route_of(request) or "unmatched", request.method, str(status)).observe(seconds)


def time_queries(execute, sql, params, many, context):
    """An execute wrapper (installed on every connection) observing each statement's time."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        QUERY_SECONDS.labels(context["connection"].alias).observe(time.perf_counter() - started)


def install_query_timer(sender, connection, **kwargs):
    if time_queries not in connection.execute_wrappers:
        connection.execute_wrappers.append(time_queries)


def _live_processes(families) -> dict[int, str]:
    """Return {pid: role} of the processes that recorded themselves and still run."""
    roles = {}
    for family in families:
        if family.name == "strongbox_process_info":
            for sample in family.samples:
                pid = int(sample.labels.get("pid", os.getpid()))
                if Path(f"/proc/{pid}").exists():
                    roles[pid] = sample.labels["role"]
    return roles


def _established_sockets() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _ESTABLISHED:
                inodes.add(fields[9])
    return inodes


def _process_figures(pid: int, established: set[str]) -> tuple[float, int, int, int] | None:
    """Return (CPU seconds, resident bytes, open descriptors, established TCP connections) of a process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        descriptors = os.listdir(f"/proc/{pid}/fd")
        connections = 0
        for descriptor in descriptors:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in established:
                connections += 1
    except (OSError, ValueError):
        return None  # it ended meanwhile
    fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return cpu, resident_pages * os.sysconf("SC_PAGE_SIZE"), len(descriptors), connections


class StateCollector:
    """Figures read at scrape time: the processes, the data directory, the queue, the replicas."""

    def __init__(self, processes: dict[int, str]):
        self.processes = processes

    def collect(self):
        yield from self._processes()
        yield from self._data_dir()
        yield from self._queue()
        yield from self._replicas()

    def _processes(self):
        labels = ["pid", "role"]
        cpu = CounterMetricFamily("strongbox_process_cpu_seconds", "CPU time (user + system) of a process.",
                                  labels=labels)
        memory = GaugeMetricFamily("strongbox_process_resident_memory_bytes", "Resident memory of a process.",
                                   labels=labels)
        descriptors = GaugeMetricFamily("strongbox_process_open_fds", "Open file descriptors of a process.",
                                        labels=labels)
        connections = GaugeMetricFamily("strongbox_process_open_connections",
                                        "Established TCP connections of a process (clients, database, cache).",
                                        labels=labels)
        established = _established_sockets()
        for pid, role in sorted(self.processes.items()):
            figures = _process_figures(pid, established)
            if figures is None:
                continue
            for family, value in zip((cpu, memory, descriptors, connections), figures, strict=True):
                family.add_metric([str(pid), role], value)
        yield from (cpu, memory, descriptors, connections)

    def _data_dir(self):
        from django.conf import settings

        usage = shutil.disk_usage(settings.DATA_DIR)
        yield GaugeMetricFamily("strongbox_data_dir_free_bytes", "Free bytes on the data directory's filesystem "
                                "(for the service's user).", value=usage.free)
        yield GaugeMetricFamily("strongbox_data_dir_size_bytes", "Size of the data directory's filesystem.",
                                value=usage.total)

    def _queue(self):
        from strongbox.ops.jobs import waiting

        count, oldest = waiting()
        yield GaugeMetricFamily("strongbox_task_queue_depth", "Jobs due and not running.", value=count)
        yield GaugeMetricFamily("strongbox_task_oldest_waiting_seconds", "How long the oldest waiting job has been "
                                "due (0 when none waits).", value=oldest)

    def _replicas(self):
        from strongbox.ops.dbrouter import replica_aliases, replica_state

        up = GaugeMetricFamily("strongbox_replica_up", "Whether the replica answers and streams (1) or not (0).",
                               labels=["replica"])
        seconds = GaugeMetricFamily("strongbox_replica_lag_seconds", "Age of the replica's last replayed "
                                    "transaction while it is behind the primary (0 when it has everything).",
                                    labels=["replica"])
        size = GaugeMetricFamily("strongbox_replica_lag_bytes", "WAL the replica has not replayed.",
                                 labels=["replica"])
        for alias in replica_aliases():
            state = replica_state(alias)
            up.add_metric([alias], 1 if state.streaming else 0)
            if state.lag_bytes is not None:
                size.add_metric([alias], state.lag_bytes)
                seconds.add_metric([alias], state.lag_seconds)
        yield from (up, seconds, size)


def may_read(client: str, authorization: str) -> bool:
    """Return whether a client may read the metrics: from STRONGBOX_METRICS_NETWORKS, or with the bearer token."""
    from django.conf import settings

    if is_trusted(client, settings.METRICS_NETWORKS):
        return True
    scheme, _, token = authorization.partition(" ")
    return bool(settings.METRICS_TOKEN) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode())


def exposition() -> bytes:
    """Return every process's counters and the state figures in Prometheus' text format."""
    if MULTIPROCESS_DIR:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=MULTIPROCESS_DIR)
        families = list(counted.collect())
    else:
        families = list(REGISTRY.collect())
    scrape = CollectorRegistry()
    scrape.register(_Families([family for family in families if family.name != "strongbox_process_info"]))
    scrape.register(StateCollector(_live_processes(families)))
    return generate_latest(scrape)


class _Families:
    """Families already collected, as a collector."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def serve_in_thread(host: str, port: int) -> None:
    """Answer GET /metrics on host:port from a thread of this process (a task worker has no web server), on the
    same terms as the app servers' /metrics."""

    def application(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics" or not may_read(environ.get("REMOTE_ADDR", ""),
                                                                  environ.get("HTTP_AUTHORIZATION", "")):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found.\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
        return [exposition()]

    server = make_server(host, port, application, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Scrapes are not logged: every 15 s a line would say nothing."""
