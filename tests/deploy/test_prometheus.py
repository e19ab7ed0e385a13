"""deploy/prometheus, deploy/alertmanager and deploy/grafana: the configuration passes Prometheus' and
Alertmanager's own checks, every alert has unit tests that make it fire and keep it quiet, and every expression
(rules and dashboard) names only metrics that Strongbox or HAProxy 2.6 export. promtool, amtool and haproxy come
from Debian (prometheus, prometheus-alertmanager, haproxy): missing, the tests needing them skip, and fail when
CI=true."""

import importlib.util
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from services.common import free_port, require_tool, stop, wait_for_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
GRAFANA = DEPLOY / "grafana"

_HISTOGRAMS = {"strongbox_http_request_duration_seconds", "strongbox_db_query_duration_seconds",
               "strongbox_task_duration_seconds", "strongbox_task_latency_seconds"}
# What the app servers and workers export (src/strongbox/ops/metrics.py); a histogram as its three series.
STRONGBOX_METRICS = {f"{name}_{part}" for name in _HISTOGRAMS for part in ("bucket", "sum", "count")} | {
    "strongbox_cache_operations_total", "strongbox_replica_reads_total", "strongbox_replica_lag_seconds",
    "strongbox_replica_lag_bytes", "strongbox_replica_up", "strongbox_task_queue_depth",
    "strongbox_task_oldest_waiting_seconds", "strongbox_extractions_total", "strongbox_upload_bytes_total",
    "strongbox_uploads_total", "strongbox_data_dir_free_bytes", "strongbox_data_dir_size_bytes",
    "strongbox_process_resident_memory_bytes", "strongbox_process_cpu_seconds_total", "strongbox_process_open_fds",
    "strongbox_process_open_connections",
}
# The HAProxy exporter's metrics the rules and the dashboard use (checked against a running HAProxy below).
HAPROXY_METRICS = {"haproxy_backend_active_servers", "haproxy_server_status", "haproxy_backend_http_responses_total",
                   "haproxy_backend_current_queue", "haproxy_server_current_sessions"}
# Prometheus' own series for every target.
PROMETHEUS_METRICS = {"up"}

_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring",
             "group_left", "group_right"}


def run(*command, cwd: Path | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def metric_names(expr: str) -> set[str]:
    """Return the metric names a PromQL expression (Grafana's $variables allowed) selects."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][\w:]*", expr):
        if expr[match.end():].lstrip().startswith("(") or match.group() in _KEYWORDS:
            continue  # a function or aggregation, or an operator
        names.add(match.group())
    return names


def load(path: Path):
    return yaml.safe_load(path.read_text())


def rules() -> list[dict]:
    return [rule for group in load(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]]


def load_dashboard_module():
    spec = importlib.util.spec_from_file_location("strongbox_grafana_dashboard", GRAFANA / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboard_expressions(dashboard: dict) -> list[str]:
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            expressions.append(re.fullmatch(r"label_values\((.*), *\w+\)", variable["query"]["query"]).group(1))
    return expressions


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


def test_it_reads_metric_names_from_promql():
    expr = ('histogram_quantile(0.95, sum by (route, le) (rate(a_bucket{job="x", route!~"b|c"}[$__rate_interval])))'
            ' / ignoring(le) group_left max without (pid) (b:rec) > 1e3 and on (job) up offset 5m or vector(1)')
    assert metric_names(expr) == {"a_bucket", "b:rec", "up"}


def test_it_passes_promtool_check_config(promtool, tmp_path):
    # The bearer token file must exist for the check; an operator puts the real one beside prometheus.yml.
    config = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, config)
    (config / "strongbox-metrics.token").write_text("x" * 43 + "\n")
    output = run(promtool, "check", "config", str(config / "prometheus.yml"))
    assert "SUCCESS" in output


def test_it_scrapes_the_three_jobs_with_the_token_from_a_file():
    config = load(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"strongbox", "strongbox-worker", "haproxy"}
    for name in ("strongbox", "strongbox-worker"):
        assert jobs[name]["authorization"] == {"type": "Bearer", "credentials_file": "strongbox-metrics.token"}
    for job in jobs.values():
        for files in job["file_sd_configs"]:
            assert all((PROMETHEUS / pattern).exists() for pattern in files["files"])
    assert config["rule_files"] == ["alerts.yml"]
    assert config["alerting"]["alertmanagers"]


def test_it_passes_promtool_check_rules(promtool):
    assert "SUCCESS" in run(promtool, "check", "rules", str(PROMETHEUS / "alerts.yml"))


def test_it_passes_the_rule_unit_tests(promtool):
    assert "SUCCESS" in run(promtool, "test", "rules", "alerts_test.yml", cwd=PROMETHEUS)


def test_it_has_a_case_where_each_alert_fires_and_one_where_it_does_not():
    firing, quiet = [], set()
    for case in load(PROMETHEUS / "alerts_test.yml")["tests"]:
        for check in case.get("alert_rule_test", []):
            if check.get("exp_alerts"):
                firing += [{"alertname": check["alertname"], **alert["exp_labels"]} for alert in check["exp_alerts"]]
                assert all(alert.get("exp_annotations") for alert in check["exp_alerts"]), case["name"]
            else:
                quiet.add(check["alertname"])
    alerts = [rule for rule in rules() if "alert" in rule]
    # Each rule, also each of several rules of one name (one per job), by the labels it sets.
    for rule in alerts:
        wanted = {"alertname": rule["alert"], **rule["labels"]}
        assert any(wanted.items() <= labels.items() for labels in firing), f"no test makes {wanted} fire"
    assert {rule["alert"] for rule in alerts} <= quiet


def test_it_gives_every_alert_a_severity_and_advice():
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
            assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 100, rule["alert"]


def test_it_writes_rules_only_against_exported_metrics():
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    known = STRONGBOX_METRICS | HAPROXY_METRICS | PROMETHEUS_METRICS | recorded
    for rule in rules():
        assert metric_names(rule["expr"]) <= known, rule.get("alert") or rule["record"]


def test_it_commits_the_dashboard_the_generator_makes():
    committed = (GRAFANA / "strongbox.json").read_text(encoding="utf-8")
    assert committed == load_dashboard_module().render(), "run: .venv/bin/python deploy/grafana/dashboard.py"


def test_it_queries_only_exported_metrics_in_the_dashboard():
    dashboard = load_dashboard_module().dashboard()
    expressions = dashboard_expressions(dashboard)
    assert len(expressions) > 20
    for expr in expressions:
        assert metric_names(expr), expr
        assert metric_names(expr) <= STRONGBOX_METRICS | HAPROXY_METRICS, expr


def test_it_lays_out_the_dashboard_without_overlaps():
    panels = load_dashboard_module().dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = set()
    for panel in panels:
        box = panel["gridPos"]
        area = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not cells & area, panel["title"]
        assert box["x"] + box["w"] <= 24
        cells |= area
        assert len({target["refId"] for target in panel.get("targets", [])}) == len(panel.get("targets", []))


def test_it_writes_dashboard_queries_prometheus_parses(promtool, tmp_path):
    # Each expression, Grafana's variables replaced by what they stand for, as a recording rule promtool parses.
    expressions = dashboard_expressions(load_dashboard_module().dashboard())
    substituted = [expr.replace("$__rate_interval", "5m").replace("$instance", ".*") for expr in expressions]
    rule_file = tmp_path / "dashboard.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expression_{number}:test", "expr": expr} for number, expr in enumerate(substituted)]}]}))
    run(promtool, "check", "rules", "--lint=none", str(rule_file))


def test_it_uses_haproxy_metrics_that_haproxy_exports(tmp_path):
    haproxy = require_tool("haproxy", "haproxy")
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text("\n".join([
        "defaults", "    mode http", "    timeout connect 1s", "    timeout client 5s", "    timeout server 5s",
        "frontend admin", f"    bind 127.0.0.1:{port}",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "backend app", "    server app1 127.0.0.1:9 check", ""]))
    process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=subprocess.DEVNULL,  # noqa: S603
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, timeout=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:  # noqa: S310
            text = response.read().decode()
    finally:
        stop(process)
    exported = set(re.findall(r"^# TYPE (\w+) ", text, flags=re.MULTILINE))
    assert HAPROXY_METRICS <= exported, HAPROXY_METRICS - exported
    assert 'state="DOWN"' in text and 'code="5xx"' in text


def test_it_passes_amtool_check_config_and_routes_critical_alerts_to_on_call():
    amtool = require_tool("amtool", "prometheus-alertmanager")
    assert "SUCCESS" in run(amtool, "check-config", str(ALERTMANAGER))
    for labels, receivers in ((["severity=critical", "alertname=HAProxyBackendNoServers"], "on-call,team-mail"),
                              (["severity=warning", "alertname=StrongboxReplicaLagging"], "team-mail")):
        run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", f"--verify.receivers={receivers}",
            *labels)


def test_it_routes_only_severities_the_rules_set():
    severities = {rule["labels"]["severity"] for rule in rules() if "alert" in rule}
    routed = {matcher for route in load(ALERTMANAGER)["route"]["routes"] for matcher in route["matchers"]}
    assert routed <= {f'severity="{severity}"' for severity in severities}
