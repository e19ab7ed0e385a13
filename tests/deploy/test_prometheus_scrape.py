"""deploy/prometheus/ as an operator installs it, with real Prometheus scraping a real `strongbox serve` (two
workers and its task worker) and a worker started alone, both with the bearer token: the targets are up, the
figures arrive, the alert rules load. Only the targets and the intervals differ from the committed files."""

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from processes import Installation, wait_for
from services.common import free_port, log_tail, require_tool, stop, wait_for_port

pytestmark = pytest.mark.django_db
PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
TOKEN = "p" * 40


@pytest.fixture(scope="module")
def installation(tmp_path_factory, django_db_blocker):
    with django_db_blocker.unblock():
        installation = Installation(tmp_path_factory.mktemp("scraped"), STRONGBOX_METRICS_TOKEN=TOKEN,
                                    STRONGBOX_METRICS_NETWORKS="192.0.2.0/24")  # loopback needs the token too
    yield installation
    installation.close()


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def query(port: int, expression: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own Prometheus on loopback
        return json.load(response)["data"]["result"]


def test_it_is_scraped_by_prometheus_with_the_committed_configuration(installation, tmp_path):
    binary = require_tool("prometheus", "prometheus")
    server = installation.serve(workers=2, worker=True)
    worker_port = free_port()
    installation.worker(STRONGBOX_WORKER_METRICS_PORT=str(worker_port))
    for _ in range(5):
        urllib.request.urlopen(f"{server.url}/healthz", timeout=5).read()  # noqa: S310

    config = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, config)
    (config / "strongbox-metrics.token").write_text(TOKEN)
    targets = {"strongbox": server.port, "strongbox-worker": worker_port}
    for job, port in targets.items():
        (config / "targets" / f"{job}.yml").write_text(yaml.safe_dump([{"targets": [f"127.0.0.1:{port}"]}]))
    (config / "targets" / "haproxy.yml").write_text("[]\n")
    settings = yaml.safe_load((config / "prometheus.yml").read_text())
    settings["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    (config / "prometheus.yml").write_text(yaml.safe_dump(settings))

    port, log = free_port(), tmp_path / "prometheus.log"
    with log.open("wb") as output:
        prometheus = subprocess.Popen([  # noqa: S603
            binary, f"--config.file={config / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"], stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, prometheus, log=log)
        wait_for(lambda: ready(port), f"Prometheus did not get ready: {log_tail(log)}", process=prometheus)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            up = {sample["metric"]["job"]: sample["value"][1] for sample in query(port, "up")}
            if up == {"strongbox": "1", "strongbox-worker": "1"}:
                break
            time.sleep(0.5)
        assert up == {"strongbox": "1", "strongbox-worker": "1"}, log_tail(log)

        healthz = query(port, 'strongbox_http_request_duration_seconds_count{route="healthz",status="200"}')
        assert healthz and float(healthz[0]["value"][1]) >= 5
        processes = sorted((sample["metric"]["job"], sample["metric"]["role"])
                           for sample in query(port, "strongbox_process_resident_memory_bytes"))
        assert processes == [("strongbox", "web"), ("strongbox", "web"), ("strongbox", "worker"),
                             ("strongbox-worker", "worker")]
        assert query(port, 'strongbox_task_queue_depth{job="strongbox-worker"}')

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5) as response:  # noqa: S310
            groups = json.load(response)["data"]["groups"]
        loaded = {rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"}
        assert {"StrongboxInstanceDown", "StrongboxHigh5xxRate", "StrongboxTaskBacklog"} <= loaded
        assert all(rule["health"] == "ok" for group in groups for rule in group["rules"]), groups
    finally:
        stop(prometheus)
        installation.stop_processes()
