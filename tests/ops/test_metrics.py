"""Prometheus metrics at /metrics: who may read them, what they count, and that every process of a server counts
into one scrape (a real `strongbox serve` with two app-server workers and its task worker)."""

import os
import re
import threading
from datetime import timedelta

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from helpers import upload
from processes import PASSWORD, Browser, Installation, wait_for
from services.common import free_port
from strongbox.ops.models import Job

pytestmark = pytest.mark.django_db
OUTSIDER = "203.0.113.9"
TOKEN = "t" * 40


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(text: str, name: str, **labels) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def test_it_counts_requests_by_url_pattern_and_status(client):
    name = "strongbox_http_request_duration_seconds_count"
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page")
    after = scrape(client)
    assert value(after, name, route="healthz", method="GET", status="200") - \
        value(before, name, route="healthz", method="GET", status="200") == 2
    assert value(after, name, route="unmatched", method="GET", status="404") - \
        value(before, name, route="unmatched", method="GET", status="404") == 1


def test_it_answers_an_outsider_as_for_a_missing_page(client):
    missing = client.get("/no-such-page", REMOTE_ADDR=OUTSIDER)
    refused = client.get("/metrics", REMOTE_ADDR=OUTSIDER)
    assert refused.status_code == missing.status_code == 404
    assert refused.content == missing.content
    assert b"strongbox_" not in refused.content


def test_it_admits_the_bearer_of_the_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    for wrong in (f"Bearer {TOKEN[:-1]}x", f"Basic {TOKEN}", "Bearer ", TOKEN):
        assert client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=wrong).status_code == 404


def test_it_admits_no_token_when_none_is_set(client, settings):
    settings.METRICS_TOKEN = None
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_it_admits_only_the_configured_networks(client, settings):
    from strongbox.lib.clientip import parse_networks

    settings.METRICS_NETWORKS = parse_networks(["10.1.0.0/16"])
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 404  # loopback is no longer among them


def test_it_refuses_a_short_token(monkeypatch):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "strongbox.settings",
                                 "STRONGBOX_METRICS_TOKEN": "short"}, check=False)
    assert result.returncode != 0
    assert "STRONGBOX_METRICS_TOKEN must be at least 32 characters" in result.stderr


def test_it_counts_cache_hits_and_misses(client):
    name = "strongbox_cache_operations_total"
    before = scrape(client)
    cache.set("metrics-test", "here")
    assert cache.get("metrics-test") == "here"
    assert cache.get("metrics-test-absent", "default") == "default"
    assert cache.get_many(["metrics-test", "metrics-test-absent"]) == {"metrics-test": "here"}
    after = scrape(client)
    assert value(after, name, result="hit") - value(before, name, result="hit") == 2
    assert value(after, name, result="miss") - value(before, name, result="miss") == 2
    assert value(after, name, result="error") == value(before, name, result="error")


def test_it_reports_the_jobs_waiting(client):
    assert value(scrape(client), "strongbox_task_queue_depth") == 0
    Job.objects.create(kind="ops.nothing", due_at=timezone.now() - timedelta(seconds=90))
    Job.objects.create(kind="ops.nothing", due_at=timezone.now() + timedelta(hours=1))  # not due yet
    Job.objects.create(kind="ops.nothing", due_at=timezone.now() - timedelta(seconds=10),
                       leased_until=timezone.now() + timedelta(minutes=5))  # running
    text = scrape(client)
    assert value(text, "strongbox_task_queue_depth") == 1
    assert 90 <= value(text, "strongbox_task_oldest_waiting_seconds") < 200


def test_it_counts_uploads_their_bytes_and_extractions(alice_client, client, django_capture_on_commit_callbacks):
    before = scrape(client)
    content = b"plain words for the metrics\n"
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(alice_client, content=content, title="Counted").status_code == 302
    assert upload(alice_client, filename="fake.pdf", content=b"not a pdf", title="Refused").status_code == 400
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("strongbox_uploads_total", outcome="stored") == 1
    assert grew("strongbox_uploads_total", outcome="refused") == 1
    assert grew("strongbox_upload_bytes_total") == len(content)
    assert grew("strongbox_extractions_total", outcome="text") == 1
    assert grew("strongbox_task_duration_seconds_count", task="extract_document_text", outcome="success") == 1
    assert grew("strongbox_task_latency_seconds_count", task="extract_document_text") == 1


def test_it_times_database_statements(alice_client, client):
    before = value(scrape(client), "strongbox_db_query_duration_seconds_count", database="default")
    alice_client.get("/documents/")
    assert value(scrape(client), "strongbox_db_query_duration_seconds_count", database="default") > before


def test_it_reports_the_process_and_the_data_directory(client):
    text = scrape(client)
    labels = {"pid": str(os.getpid()), "role": "web"}
    assert value(text, "strongbox_process_resident_memory_bytes", **labels) > 10 * 1024**2
    assert value(text, "strongbox_process_open_fds", **labels) > 0
    assert value(text, "strongbox_process_cpu_seconds_total", **labels) > 0
    free, size = value(text, "strongbox_data_dir_free_bytes"), value(text, "strongbox_data_dir_size_bytes")
    assert 0 < free <= size


@pytest.mark.skipif(not django_settings.SCALE_OUT_RUN, reason="replicas are the scale-out shape's")
def test_it_reports_each_replica_and_where_reads_went(alice_client, client):
    name = "strongbox_replica_reads_total"
    before = scrape(client)
    alice_client.get("/documents/?q=anything")
    after = scrape(client)
    assert value(after, "strongbox_replica_up", replica="replica1") == 1
    assert value(after, "strongbox_replica_lag_bytes", replica="replica1") >= 0
    assert ("strongbox_replica_lag_seconds", frozenset({("replica", "replica1")})) in samples(after)
    read = sum(value(after, name, database=alias) - value(before, name, database=alias)
               for alias in ("default", "replica1"))
    assert read > 0


# Several real processes: two app-server workers and the task worker count into one scrape.

@pytest.fixture(scope="module")
def installation(tmp_path_factory, django_db_blocker):
    with django_db_blocker.unblock():
        installation = Installation(tmp_path_factory.mktemp("metrics"))
        installation.manage("createuser", "--username", "mia", "--email", "mia@example.com",
                            STRONGBOX_PASSWORD=PASSWORD)
    yield installation
    installation.close()


def _answering_pids(log: str) -> set[str]:
    return set(re.findall(r'"path": "/healthz", "status": 200, "ms": [0-9.]+, "client": "[^"]*", "pid": (\d+)', log))


def test_it_adds_up_every_process_of_a_server(installation):
    server = installation.serve(workers=2, worker=True)
    wait_for(lambda: "consumer started" in server.process.log.read_text(errors="replace").lower(),
             "the task worker did not start", process=server.process)
    name = "strongbox_http_request_duration_seconds_count"
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    before = value(requests.get(f"{server.url}/metrics", timeout=10).text, name, **labels)
    sent, lock = 0, threading.Lock()

    def hammer():
        nonlocal sent
        for _ in range(10):
            assert requests.get(f"{server.url}/healthz", headers={"Connection": "close"}, timeout=10).ok
            with lock:
                sent += 1

    # Until both app-server workers have answered (the access log names the pid), 8 clients at a time.
    for _ in range(10):
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(_answering_pids(server.process.log.read_text(errors="replace"))) >= 2:
            break
    assert len(_answering_pids(server.process.log.read_text(errors="replace"))) == 2

    # A document uploaded through a web worker is extracted by the task worker, a third process.
    browser = Browser(server)
    browser.sign_in("mia")
    stored = browser.post("/documents/upload/", {"title": "Across processes", "description": "", "category": "other",
                                                 "tags": ""}, files={"file": ("across.txt", b"words elsewhere\n")})
    assert stored.status_code == 302, stored.text[:500]
    wait_for(lambda: value(requests.get(f"{server.url}/metrics", timeout=10).text,
                           "strongbox_extractions_total", outcome="text") == 1, "the extraction was not counted")

    text = requests.get(f"{server.url}/metrics", timeout=10).text
    assert value(text, name, **labels) - before == sent
    assert value(text, "strongbox_task_duration_seconds_count", task="extract_document_text", outcome="success") == 1
    roles = sorted(role for (metric, labels_), _ in samples(text).items()
                   if metric == "strongbox_process_resident_memory_bytes" for key, role in labels_ if key == "role")
    assert roles == ["web", "web", "worker"]

    # A new start counts from nothing: the files of the processes before it are gone.
    installation.stop_processes()
    again = installation.serve(workers=2)
    assert value(requests.get(f"{again.url}/metrics", timeout=10).text, name, **labels) < 10
    installation.stop_processes()


def test_it_lets_a_worker_started_alone_answer_scrapes(installation):
    port = free_port()
    installation.worker(STRONGBOX_WORKER_METRICS_PORT=str(port), STRONGBOX_METRICS_NETWORKS="10.9.0.0/16",
                        STRONGBOX_METRICS_TOKEN=TOKEN)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for(lambda: _answers(url), "the worker's metrics port did not open")
    assert requests.get(url, timeout=10).status_code == 404  # loopback is not among the networks
    answer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200
    roles = {role for (metric, labels), _ in samples(answer.text).items()
             if metric == "strongbox_process_resident_memory_bytes" for key, role in labels if key == "role"}
    assert roles == {"worker"}
    assert requests.get(f"http://127.0.0.1:{port}/other", headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=10).status_code == 404
    installation.stop_processes()


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
        return True
    except requests.ConnectionError:
        return False
