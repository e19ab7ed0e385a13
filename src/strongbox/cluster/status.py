"""What `strongbox cluster status` shows: every component with its process's state, the balancer's view of each
app server, the replica's lag and the task queue's depth, as one JSON-ready dict; and that dict as a table."""

import time

from strongbox.cluster import plan
from strongbox.cluster.release import OWN_CODE

QUEUE_KEY = "huey.redis.strongbox"  # Huey's RedisStorage list for the queue named "strongbox" (settings.HUEY)


def collect(supervisor) -> dict:
    """Return the cluster's state now; parts that cannot be read (a stopped replica) say why instead."""
    balancer = _balancer_view(supervisor)
    now = supervisor.clock()
    components = []
    for process in supervisor.snapshot():
        component = process.component
        entry = {"name": component.name, "role": component.role, "pid": process.pid, "address": component.address,
                 "port": component.port, "state": process.state, "restarts": process.restarts,
                 "uptime_s": round(now - process.started_at, 1) if process.pid else None,
                 "last_exit": process.last_exit or None}
        if component.role in ("app", "worker"):
            entry["code"] = component.env.get("STRONGBOX_CODE", OWN_CODE)
        if component.role == "app":
            entry["balancer"] = balancer.get(component.name)
        components.append(entry)
    layout, ports = supervisor.layout, supervisor.ports
    return {
        "root": str(layout.root),
        "url": plan.site_url(supervisor.spec) + "/",
        "spec": {"servers": len(supervisor.apps()), "workers": supervisor.spec.workers,
                 "balance": supervisor.spec.balance, "sticky": supervisor.spec.sticky,
                 "sessions": supervisor.spec.sessions, "tls": supervisor.spec.tls,
                 "web_workers": supervisor.spec.web_workers},
        "autoscale": supervisor.autoscale_status(),
        "release": supervisor.releaser.status(),
        "balancer": {"url": f"http://{plan.LOOPBACK}:{ports.http}/", "admin_url": f"http://{plan.LOOPBACK}:{ports.admin}/",
                     "metrics_url": f"http://{plan.LOOPBACK}:{ports.admin}/metrics",
                     "runtime_socket": supervisor.runtime.path, "config": str(layout.haproxy_dir / "haproxy.cfg")},
        "database": {"primary": f"postgres://postgres@{plan.LOOPBACK}:{ports.primary}/{plan.DATABASE}",
                     "replica": f"postgres://postgres@{plan.LOOPBACK}:{ports.replica}/{plan.DATABASE}",
                     "replica_lag": _replica_lag(ports)},
        "redis": f"redis://{plan.LOOPBACK}:{ports.redis}/0",
        "queue": _queue_depth(ports),
        "components": components,
        "log": supervisor.log[-10:],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _balancer_view(supervisor) -> dict:
    try:
        servers = supervisor.runtime.servers()
    except (OSError, RuntimeError):
        return {}
    return {name: {"state": server.state, "status": server.status, "check": server.check_status,
                   "current_sessions": server.current_sessions, "queued": server.queued,
                   "ramp_percent": server.throttle, "total_sessions": server.total_sessions,
                   "sessions_per_second": server.session_rate, "retries": server.retries,
                   "redispatches": server.redispatches} for name, server in servers.items()}


def _query(port: int, sql: str, database: str = "postgres", params: tuple = ()):
    import psycopg

    with psycopg.connect(host=plan.LOOPBACK, port=port, user="postgres", dbname=database, connect_timeout=1,
                         options="-c statement_timeout=1000") as connection:
        return connection.execute(sql, params).fetchone()


def _replica_lag(ports) -> dict:
    """How far the replica is behind: WAL bytes not yet replayed, and the age of the last transaction it
    replayed (which also grows while the primary is idle, so both are shown)."""
    import psycopg

    try:
        (primary_position,) = _query(ports.primary, "SELECT pg_current_wal_lsn()::text")
        behind, replay_age = _query(ports.replica, (
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())::bigint, "
            "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float"), params=(primary_position,))
    except psycopg.Error as error:
        return {"error": str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}
    return {"bytes": max(int(behind or 0), 0), "last_replayed_transaction_age_s":
            None if replay_age is None else round(replay_age, 1)}


def _queue_depth(ports) -> dict:
    """Jobs waiting or running (the durable record, ops.Job) and nudges waiting in Huey's Redis list."""
    import psycopg
    import redis

    depth: dict = {}
    try:
        (depth["jobs"],) = _query(ports.primary, "SELECT count(*) FROM ops_job", plan.DATABASE)
    except psycopg.Error as error:
        depth["jobs_error"] = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    try:
        depth["queued_nudges"] = redis.Redis(host=plan.LOOPBACK, port=ports.redis, socket_timeout=1,
                                             socket_connect_timeout=1).llen(QUEUE_KEY)
    except redis.RedisError as error:
        depth["queued_nudges_error"] = str(error)
    return depth


def table(document: dict) -> str:
    """Return the status as the lines a person reads."""
    lines = [f"Strongbox cluster in {document['root']}: {document['url']}",
             f"  balancer admin {document['balancer']['admin_url']} · metrics {document['balancer']['metrics_url']}"
             f" · replica lag {_lag(document)} · queue {_queue(document['queue'])}",
             *_autoscale(document.get("autoscale") or {}), *_release(document.get("release") or {}), ""]
    rows = [("NAME", "ROLE", "PID", "ADDRESS", "STATE", "BALANCER", "CUR", "TOTAL", "REQ/S", "RESTARTS")]
    for entry in document["components"]:
        view = entry.get("balancer") or {}
        rows.append((entry["name"], entry["role"], str(entry["pid"] or "-"), entry["address"] or "-",
                     entry["state"] + (f" ({entry['last_exit']})" if entry["state"] != "running" and entry["last_exit"]
                                       else ""),
                     view.get("state", "-") if entry["role"] == "app" else "",
                     str(view.get("current_sessions", "")), str(view.get("total_sessions", "")),
                     str(view.get("sessions_per_second", "")), str(entry["restarts"])))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _release(release: dict) -> list[str]:
    lines = [f"  code {release.get('code', OWN_CODE)}"
             + (f" (before: {release['previous']})" if release.get("previous") else "")]
    canary = release.get("canary")
    if canary:
        lines.append(f"    canary: {', '.join(canary['servers'])} run {canary['code']} for {canary['percent']} % of "
                     "the requests (`release --promote` or `--rollback`)")
    return lines


def _autoscale(autoscale: dict) -> list[str]:
    if not autoscale.get("enabled"):
        return ["  autoscale off"]
    policy, last = autoscale["policy"], autoscale.get("last")
    lines = [f"  autoscale {autoscale['range']}: target {policy['target']:g} in flight per server, tolerance "
             f"{policy['tolerance']:.0%}, window {policy['stabilization']:g} s, cooldown {policy['cooldown']:g} s"]
    if last:
        metric = "unknown" if last["metric"] is None else f"{last['metric']:.2f}"
        lines.append(f"    now: {metric} in flight per server, {last['current']} servers, desired "
                     f"{last['desired']}: {last['action']} ({last['reason']})")
    for action in autoscale.get("actions", [])[-5:]:
        lines.append(f"    {action['action']} {action['current']} -> {action['to']} ({action['outcome']}, "
                     f"{action['took_s']} s): {action['reason']}")
    return lines


def _lag(document: dict) -> str:
    lag = document["database"]["replica_lag"]
    if "error" in lag:
        return f"unknown ({lag['error']})"
    return f"{lag['bytes']} bytes"


def _queue(queue: dict) -> str:
    jobs = queue.get("jobs", "?")
    return f"{jobs} job{'s' if jobs != 1 else ''} pending, {queue.get('queued_nudges', '?')} nudges"
