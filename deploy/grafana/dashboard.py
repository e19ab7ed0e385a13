"""Strongbox's Grafana dashboard, written as code: `python deploy/grafana/dashboard.py` writes strongbox.json beside
this file (import it in Grafana, or point a dashboard provider at the directory). tests/deploy/test_prometheus.py
checks that the committed strongbox.json is this module's output and that every expression names only metrics
Strongbox and HAProxy export. Change the panels here, never in the JSON."""

import json
import sys
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "[$__rate_interval]"
# App servers (the `instance` variable picks some), all of Strongbox (servers and workers), the balancers.
APP = 'job="strongbox", instance=~"$instance"'
ANY = 'job=~"strongbox|strongbox-worker"'
BALANCER = 'job="haproxy"'
# As in alerts.yml: HAProxy's checks of /readyz every second are not users' requests.
NOT_PROBES = 'route!~"healthz|readyz|metrics"'
# HAProxy's server states, worst last, as numbers a state timeline can colour.
SERVER_STATES = (("UP", "green"), ("NOLB", "yellow"), ("DRAIN", "blue"), ("MAINT", "purple"), ("DOWN", "red"))
WIDTH, HEIGHT = 12, 8


def _target(expr: str, legend: str) -> dict:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "range": True}


def _p95(metric: str, selector: str, by: str) -> str:
    return f"histogram_quantile(0.95, sum by ({by}, le) (rate({metric}_bucket{{{selector}}}{RATE})))"


def timeseries(title: str, description: str, unit: str, *targets: tuple[str, str], stack: bool = False,
               maximum: float | None = None) -> dict:
    """Return a time series panel plotting `targets`, (expression, legend) pairs, in `unit`."""
    defaults = {
        "unit": unit,
        "min": 0,
        "custom": {"fillOpacity": 10, "showPoints": "never", "lineWidth": 1,
                   "stacking": {"mode": "normal" if stack else "none", "group": "A"}},
    }
    if maximum is not None:
        defaults["max"] = maximum
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [_target(expr, legend) for expr, legend in targets],
    }


def _requests() -> list[dict]:
    count = "strongbox_http_request_duration_seconds_count"
    share_5xx = (f'sum(rate({count}{{{APP}, {NOT_PROBES}, status=~"5.."}}{RATE}))'
                 f" / sum(rate({count}{{{APP}, {NOT_PROBES}}}{RATE}))")
    balancer_5xx = (f'sum(rate(haproxy_backend_http_responses_total{{{BALANCER}, code="5xx"}}{RATE}))'
                    f" / sum(rate(haproxy_backend_http_responses_total{{{BALANCER}}}{RATE}))")
    return [
        timeseries("Requests per second by route", "Every route the app servers answered, health checks included.",
                   "reqps", (f"sum by (route) (rate({count}{{{APP}}}{RATE}))", "{{route}}"), stack=True),
        timeseries("p95 response time by route", "95% of the route's requests took less than this.", "s",
                   (_p95("strongbox_http_request_duration_seconds", APP, "route"), "{{route}}")),
        timeseries("Requests per second by server", "Each app server's share: uneven means the balancer is not "
                   "balancing (sticky sessions, `balance source`) or a server was out.", "reqps",
                   (f"sum by (instance) (rate({count}{{{APP}}}{RATE}))", "{{instance}}"), stack=True),
        timeseries("p95 response time by server", "One server slower than the others: look at its CPU and memory.",
                   "s", (_p95("strongbox_http_request_duration_seconds", APP, "instance"), "{{instance}}")),
        timeseries("5xx share of requests", "As StrongboxHigh5xxRate sees it (over 5% for 5 minutes fires), and "
                   "as the balancer counts it, its own 503s when no server answers included.", "percentunit",
                   (share_5xx, "app servers"), (balancer_5xx, "balancer")),
        timeseries("5xx per second by route and status", "Which route fails, and how.", "reqps",
                   (f'sum by (route, status) (rate({count}{{{APP}, status=~"5.."}}{RATE}))', "{{route}} {{status}}"),
                   stack=True),
    ]


def _data() -> list[dict]:
    query = "strongbox_db_query_duration_seconds"
    cache = "strongbox_cache_operations_total"
    mean = (f"sum by (database) (rate({query}_sum{{{ANY}}}{RATE}))"
            f" / sum by (database) (rate({query}_count{{{ANY}}}{RATE}))")
    hits = (f'sum(rate({cache}{{{ANY}, result="hit"}}{RATE}))'
            f' / sum(rate({cache}{{{ANY}, result=~"hit|miss"}}{RATE}))')
    return [
        timeseries("Database query time by database", "p95 and mean of every query, servers and workers.", "s",
                   (_p95(query, ANY, "database"), "p95 {{database}}"), (mean, "mean {{database}}")),
        timeseries("Reads by database", "Which database served reads: `default` is the primary (always in "
                   "embedded mode; in scale-out, when no replica is usable or the reader must see its own writes).",
                   "ops", (f"sum by (database) (rate(strongbox_replica_reads_total{{{ANY}}}{RATE}))", "{{database}}"),
                   stack=True),
        timeseries("Cache hit ratio", "Hits among hits and misses; errors are in the next panel.", "percentunit",
                   (hits, "hit ratio"), maximum=1),
        timeseries("Cache operations per second by result", "Errors mean the cache (Redis) is unreachable or "
                   "slow: requests still work, from the database.", "ops",
                   (f"sum by (result) (rate({cache}{{{ANY}}}{RATE}))", "{{result}}"), stack=True),
        timeseries("Replica lag", "The largest any app server sees. StrongboxReplicaLagging fires over 30 s.", "s",
                   ("max by (replica) (strongbox_replica_lag_seconds)", "{{replica}}")),
        timeseries("Replica lag in bytes of WAL", "Growing: the replica cannot keep up. Flat while the lag in seconds "
                   "grows: replay is blocked.", "bytes",
                   ("max by (replica) (strongbox_replica_lag_bytes)", "{{replica}}")),
        timeseries("Replica reachable", "1 while at least one app server can read from it.", "none",
                   ("max by (replica) (strongbox_replica_up)", "{{replica}}"), maximum=1),
    ]


def _tasks() -> list[dict]:
    return [
        timeseries("Jobs waiting", "StrongboxTaskBacklog fires over 100 for 10 minutes.", "none",
                   ("max(strongbox_task_queue_depth)", "waiting")),
        timeseries("Oldest waiting job", "StrongboxTaskBacklog fires over 10 minutes.", "s",
                   ("max(strongbox_task_oldest_waiting_seconds)", "oldest")),
        timeseries("Task latency p95 by task", "From enqueue to start: how long work waits for a worker.", "s",
                   (_p95("strongbox_task_latency_seconds", ANY, "task"), "{{task}}")),
        timeseries("Task duration p95 by task", "From start to end, successes and failures.", "s",
                   (_p95("strongbox_task_duration_seconds", ANY, "task"), "{{task}}")),
        timeseries("Task failures per second by task", "StrongboxTaskFailures fires over 10% of a task's runs.",
                   "ops", (f'sum by (task) (rate(strongbox_task_duration_seconds_count{{{ANY}, outcome="failure"}}'
                           f"{RATE}))", "{{task}}"), stack=True),
        timeseries("Text extractions per second by outcome", "Anything but text and empty leaves a document "
                   "without its text: many at once usually means one kind of file.", "ops",
                   (f"sum by (outcome) (rate(strongbox_extractions_total{{{ANY}}}{RATE}))", "{{outcome}}"), stack=True),
    ]


def _storage() -> list[dict]:
    return [
        timeseries("Uploads per second by outcome", "refused: too large, over quota, or content that is not what "
                   "it claims.", "ops",
                   (f"sum by (outcome) (rate(strongbox_uploads_total{{{ANY}}}{RATE}))", "{{outcome}}"), stack=True),
        timeseries("Upload throughput", "Bytes received in uploads.", "Bps",
                   (f"sum(rate(strongbox_upload_bytes_total{{{ANY}}}{RATE}))", "uploads")),
        timeseries("Data directory free space", "Per server. StrongboxDataDirFilling fires under 10%.", "percentunit",
                   (f"strongbox_data_dir_free_bytes{{{ANY}}} / strongbox_data_dir_size_bytes{{{ANY}}}",
                    "{{instance}} {{job}}"),
                   maximum=1),
    ]


def _processes() -> list[dict]:
    legend = "{{instance}} {{role}} {{pid}}"
    return [
        timeseries("Resident memory by process", "Web and worker processes of every server.", "bytes",
                   (f"strongbox_process_resident_memory_bytes{{{ANY}}}", legend)),
        timeseries("CPU by process", "1 = one core busy.", "percentunit",
                   (f"rate(strongbox_process_cpu_seconds_total{{{ANY}}}{RATE})", legend)),
        timeseries("Open file descriptors by process", "A steady climb is a leak.", "none",
                   (f"strongbox_process_open_fds{{{ANY}}}", legend)),
        timeseries("Open connections by process", "Database, cache and storage connections a process holds.",
                   "none", (f"strongbox_process_open_connections{{{ANY}}}", legend)),
    ]


def _server_states() -> dict:
    """Return a state timeline of every server behind every balancer, coloured by its state."""
    states = " or ".join(f'haproxy_server_status{{{BALANCER}, state="{state}"}} * {code}'
                         for code, (state, _) in enumerate(SERVER_STATES, start=1))
    panel = timeseries("Server states", "As the balancer sees each server: DRAIN and MAINT are set on purpose "
                       "(`set server app/NAME state …`), DOWN failed its health checks.", "none",
                       (f"sum by (instance, proxy, server) ({states})", "{{proxy}}/{{server}} ({{instance}})"))
    mappings = {str(code): {"text": state, "color": color, "index": code - 1}
                for code, (state, color) in enumerate(SERVER_STATES, start=1)}
    panel.update(type="state-timeline", options={"showValue": "never", "mergeValues": True, "rowHeight": 0.9,
                                                 "legend": {"displayMode": "list", "placement": "bottom"}})
    panel["fieldConfig"]["defaults"] = {"mappings": [{"type": "value", "options": mappings}],
                                        "color": {"mode": "thresholds"},
                                        "thresholds": {"mode": "absolute", "steps": [{"color": "grey", "value": None}]}}
    return panel


def _balancer() -> list[dict]:
    return [
        _server_states(),
        timeseries("Servers in rotation", "HAProxyBackendNoServers fires at 0.", "none",
                   (f"haproxy_backend_active_servers{{{BALANCER}}}", "{{proxy}} ({{instance}})")),
        timeseries("Requests queued in the balancer", "Requests waiting for a free server: the servers are full "
                   "(maxconn) or too slow. Add a server.", "none",
                   (f"haproxy_backend_current_queue{{{BALANCER}}}", "{{proxy}} ({{instance}})")),
        timeseries("Sessions by server", "Requests in flight on each server, as the balancer counts them.", "none",
                   (f"haproxy_server_current_sessions{{{BALANCER}}}", "{{server}} ({{instance}})"), stack=True),
        timeseries("Balancer responses per second by class", "What users got, retries and the balancer's own "
                   "answers included.", "reqps",
                   (f"sum by (code) (rate(haproxy_backend_http_responses_total{{{BALANCER}}}{RATE}))", "{{code}}"),
                   stack=True),
    ]


def _layout(sections: list[tuple[str, list[dict]]]) -> list[dict]:
    """Return the rows and their panels, two panels a line, with ids and grid positions."""
    panels, y = [], 0
    for title, section in sections:
        panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        y += 1
        for index, panel in enumerate(section):
            panel["gridPos"] = {"h": HEIGHT, "w": WIDTH, "x": (index % 2) * WIDTH, "y": y + (index // 2) * HEIGHT}
            for ref, target in enumerate(panel.get("targets", [])):
                target["refId"] = chr(ord("A") + ref)
            panels.append(panel)
        y += (len(section) + 1) // 2 * HEIGHT
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
    return panels


def _variables() -> list[dict]:
    instances = 'label_values(strongbox_http_request_duration_seconds_count{job="strongbox"}, instance)'
    return [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus", "current": {},
         "hide": 0, "refresh": 1},
        {"type": "query", "name": "instance", "label": "App server", "datasource": DATASOURCE,
         "definition": instances, "query": {"query": instances, "refId": "instances"}, "refresh": 2,
         "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "sort": 1, "hide": 0},
    ]


def dashboard() -> dict:
    """Return the Strongbox dashboard as Grafana's JSON model."""
    return {
        "uid": "strongbox",
        "title": "Strongbox",
        "description": "Requests, database, cache, replicas, background jobs, storage, processes and the balancer. "
                       "Generated by deploy/grafana/dashboard.py.",
        "tags": ["strongbox"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": _variables()},
        "panels": _layout([
            ("Requests", _requests()),
            ("Database, cache and replicas", _data()),
            ("Background jobs", _tasks()),
            ("Uploads and storage", _storage()),
            ("Processes", _processes()),
            ("Balancer", _balancer()),
        ]),
    }


def render() -> str:
    """Return the dashboard as the text of strongbox.json."""
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    path = Path(__file__).with_name("strongbox.json")
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
