"""What the operations page shows, read at this moment. Rates, means and percentiles need two readings, so the
page works them out from the differences between its polls (static/js/ops.js); here are the running totals."""

import os
import socket
import time

from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from strongbox.ops import metrics
from strongbox.ops.dashboard.balancer import balancer_state

REQUESTS = "strongbox_http_request_duration_seconds"
# Left out of the request figures, as the alerts leave them out: HAProxy's health checks (every second per
# server), scrapes, and this page's own polls would otherwise be most of the requests on a quiet server.
UNCOUNTED_ROUTES = frozenset({"healthz", "readyz", "metrics", "ops/figures.json"})


def server_id() -> str:
    """Name this app server: its host, and the process that started its workers (granian's, whose workers share
    the counters), or this process when it counts for itself."""
    return f"{socket.gethostname()}/{os.getppid() if metrics.MULTIPROCESS_DIR else os.getpid()}"


def _from_metrics() -> dict:
    """This server's request totals and processes, the replicas and the queue, from one reading of its metrics
    (which reads the replicas and the queue itself: they are not asked twice)."""
    count = total = 0.0
    buckets: dict[str, float] = {}
    processes: dict[str, dict] = {}
    replicas: dict[str, dict] = {}
    queue = {"depth": 0, "oldest_waiting_seconds": 0.0}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            labels = sample.labels
            if family.name == REQUESTS and labels.get("route") not in UNCOUNTED_ROUTES:
                if sample.name == f"{REQUESTS}_count":
                    count += sample.value
                elif sample.name == f"{REQUESTS}_sum":
                    total += sample.value
                elif sample.name == f"{REQUESTS}_bucket":
                    buckets[labels["le"]] = buckets.get(labels["le"], 0.0) + sample.value
            elif sample.name == "strongbox_process_cpu_seconds_total":
                processes.setdefault(labels["pid"], {"role": labels["role"]})["cpu_seconds"] = sample.value
            elif sample.name == "strongbox_process_resident_memory_bytes":
                processes.setdefault(labels["pid"], {"role": labels["role"]})["resident_bytes"] = sample.value
            elif sample.name in _REPLICA_FIELDS:
                replica = replicas.setdefault(labels["replica"], {"alias": labels["replica"], "up": False,
                                                                  "lag_seconds": 0.0, "lag_bytes": None})
                field, convert = _REPLICA_FIELDS[sample.name]
                replica[field] = convert(sample.value)
            elif sample.name == "strongbox_task_queue_depth":
                queue["depth"] = int(sample.value)
            elif sample.name == "strongbox_task_oldest_waiting_seconds":
                queue["oldest_waiting_seconds"] = sample.value
    ordered = sorted(buckets.items(), key=lambda item: float(item[0]))  # float("+Inf") sorts last
    server = {
        "id": server_id(),
        "requests": {"count": int(count), "sum_seconds": total,
                     "buckets": [[float(bound), int(value)] if bound != "+Inf" else ["+Inf", int(value)]
                                 for bound, value in ordered]},
        "processes": [{"pid": int(pid), **figures} for pid, figures in sorted(processes.items(),
                                                                                key=lambda item: int(item[0]))],
    }
    return {"server": server, "replicas": [replicas[alias] for alias in sorted(replicas)], "queue": queue}


_REPLICA_FIELDS = {"strongbox_replica_up": ("up", lambda value: value == 1),
                   "strongbox_replica_lag_seconds": ("lag_seconds", float),
                   "strongbox_replica_lag_bytes": ("lag_bytes", int)}


def figures() -> dict:
    """Return every figure of the page: this server's counters and processes, the balancer, replicas, queue."""
    return {"time": time.time(), **_from_metrics(), "balancer": balancer_state(settings.BALANCER_STATS_URL)}
