"""The scale-out data tier against the real services of the second test run: reads on the streaming replica and
writes on the primary, read-your-writes, a replica that is stopped or lagging, Redis stopped, and sessions and
tasks shared between separate app and worker processes."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpers import PASSWORD, forget_cached_pages, wait_until_redis_is_trusted
from services.common import free_port
from strongbox.documents.models import Document, TextStatus
from strongbox.ops.dbrouter import PIN_COOKIE, ReplicaRouter, replicas

pytestmark = [
    pytest.mark.skipif(not settings.SCALE_OUT_RUN, reason="runs in the scale-out run of the suite (make test)"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


def tables(queries, table="documents_document") -> list[str]:
    return [query["sql"] for query in queries if table in query["sql"]]


@pytest.fixture
def document(uploaded, cluster):
    document = uploaded("txt", title="Lease")
    cluster.postgres.wait_for_replay()
    return document


def test_it_reads_from_the_replica_and_writes_to_the_primary(alice_client, document):
    with CaptureQueriesContext(connections["replica1"]) as replica, \
            CaptureQueriesContext(connections["default"]) as primary:
        response = alice_client.get(reverse("documents:list"))
    assert response.status_code == 200 and b"Lease" in response.content
    assert tables(replica.captured_queries) and not tables(primary.captured_queries)

    with CaptureQueriesContext(connections["replica1"]) as replica, \
            CaptureQueriesContext(connections["default"]) as primary:
        response = alice_client.post(reverse("documents:title", args=[document.public_id]), {"title": "Lease 2"})
    assert response.status_code in (200, 302)
    assert any(sql.startswith("UPDATE") for sql in tables(primary.captured_queries))
    assert not tables(replica.captured_queries)
    assert PIN_COOKIE in response.cookies


def test_a_user_reads_their_own_write_before_the_replica_has_it(alice_client, document, cluster):
    cluster.postgres.replica.psql("SELECT pg_wal_replay_pause()")
    response = alice_client.post(reverse("documents:edit", args=[document.public_id]),
                                 {"title": "Lease renewed", "description": "", "category": "other", "tags": ""})
    assert response.status_code == 302
    page = alice_client.get(reverse("documents:detail", args=[document.public_id]))
    assert b"Lease renewed" in page.content
    # The replica really is behind: the page came from the primary.
    assert Document.objects.using("replica1").get(pk=document.pk).title == "Lease"

    cluster.postgres.replica.psql("SELECT pg_wal_replay_resume()")
    cluster.postgres.wait_for_replay()
    with CaptureQueriesContext(connections["replica1"]) as replica:
        page = alice_client.get(reverse("documents:detail", args=[document.public_id]))
    assert b"Lease renewed" in page.content and tables(replica.captured_queries)


def test_reads_fall_back_to_the_primary_when_the_replica_stops(alice_client, document, cluster, client):
    cluster.postgres.replica.stop()
    response = alice_client.get(reverse("documents:list"))
    assert response.status_code == 200 and b"Lease" in response.content
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded" and ready.json()["checks"]["replica1"] == "unavailable"

    cluster.postgres.replica.start()
    cluster.postgres.wait_for_replay()
    replicas.reset()
    forget_cached_pages()  # the page read from the primary meanwhile, cached under an unchanged version
    with CaptureQueriesContext(connections["replica1"]) as replica:
        assert alice_client.get(reverse("documents:list")).status_code == 200
    assert tables(replica.captured_queries)


def test_a_replica_lagging_beyond_the_threshold_is_skipped(document, cluster, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 1
    assert ReplicaRouter().db_for_read(Document) == "replica1"
    cluster.postgres.replica.psql("SELECT pg_wal_replay_pause()")
    # A write the replica receives but does not replay, made outside this process (which would read its own
    # writes from the primary anyway).
    database = connections["default"].settings_dict["NAME"]
    cluster.postgres.primary.psql("CREATE TABLE lag_probe (id int); DROP TABLE lag_probe;", database)
    time.sleep(2.2)
    replicas.lag_checked.clear()
    assert ReplicaRouter().db_for_read(Document) == "default"
    assert "replica1" in replicas.down_until


def test_pages_and_downloads_work_while_redis_is_down(alice_client, document, cluster, client):
    cluster.redis.stop()
    assert alice_client.get(reverse("documents:list")).status_code == 200
    download = alice_client.get(reverse("documents:download", args=[document.public_id]))
    assert download.status_code == 200 and b"".join(download.streaming_content)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache"] == "unavailable"

    cluster.redis.start()
    assert client.get("/readyz").json()["status"] == "ok"


def test_readyz_answers_within_the_balancers_check_timeout_while_redis_hangs(cluster, client):
    # Found under load through HAProxy (tests/cluster/test_faults.py): the task queue's probe waited out Huey's 2 s
    # socket timeout, every server failed its check (2 s) at once, and the balancer had no server left.
    with cluster.redis.frozen():
        started = time.monotonic()
        ready = client.get("/readyz")
        took = time.monotonic() - started
    assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.content
    assert took < 1.0, took  # the cache's probe (and with Huey on Redis, the queue's) gives up after 250 ms


def test_an_invalidation_lost_while_redis_was_unreachable_leaves_no_stale_value(cluster):
    cache.set("totals", "before")
    cache.set("other", "kept?")
    # Frozen, not stopped: Redis keeps its data but answers nothing, as behind a network partition.
    cluster.redis.process.send_signal(signal.SIGSTOP)
    try:
        cache.delete("totals")  # times out: dropped
        assert cache.get("other") is None  # a miss while unreachable
    finally:
        cluster.redis.process.send_signal(signal.SIGCONT)
    assert cache.get("totals") is None  # not the stale "before"
    assert cache.get("other") is None  # everything cached before the outage is forgotten
    wait_until_redis_is_trusted()
    cache.set("totals", "after")
    assert cache.get("totals") == "after"


class App:
    """A `strongbox serve` or `strongbox worker` process on the test database and the shared services."""

    def __init__(self, env: dict, log, *command: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [arg.replace("PORT", str(self.port)) for arg in command]
        self.process = subprocess.Popen([sys.executable, "-m", "strongbox", *command], env=env,  # noqa: S603
                                        stdout=log.open("w"), stderr=subprocess.STDOUT)

    def wait(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"not up after 60 s: {self.log.read_text()}")

    def stop(self):
        self.process.terminate()
        self.process.wait(20)


@pytest.fixture
def processes(cluster, tmp_path):
    """Start app and worker processes as other machines would run them: same services, same test database."""
    database = connections["default"].settings_dict["NAME"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_DATA_DIR": str(tmp_path),
           "DATABASE_URL": cluster.postgres.primary.url(database),
           "DATABASE_REPLICA_URLS": cluster.postgres.replica.url(database), "STRONGBOX_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "strongbox", "collectstatic", "--noinput", "-v0"], env=env,  # noqa: S603
                   check=True)
    started = []

    def start(*command: str) -> App:
        app = App(env, tmp_path / f"process-{len(started)}.log", *command)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


def csrf(session: requests.Session, url: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(url).text).group(1)


def test_a_session_from_one_app_server_is_valid_on_another_and_a_worker_runs_their_tasks(alice, processes):
    first = processes("serve", "--no-worker", "--host", "127.0.0.1", "--port", "PORT", "--workers", "1")
    second = processes("serve", "--no-worker", "--host", "127.0.0.1", "--port", "PORT", "--workers", "1")
    worker = processes("worker")
    first.wait(), second.wait()

    browser = requests.Session()
    response = browser.post(first.url + "/accounts/login/", allow_redirects=False, data={
        "csrfmiddlewaretoken": csrf(browser, first.url + "/accounts/login/"), "username": "alice",
        "password": PASSWORD})
    assert response.status_code == 302
    page = browser.get(second.url + "/documents/")
    assert page.status_code == 200 and "Sign out" in page.text and page.url.endswith("/documents/")

    # Uploaded through the second server; its text extraction runs in the worker process.
    response = browser.post(second.url + "/documents/upload/", allow_redirects=False,
                            headers={"Referer": second.url + "/documents/upload/"},
                            data={"csrfmiddlewaretoken": csrf(browser, second.url + "/documents/upload/"),
                                  "title": "Across", "description": "", "category": "other", "tags": ""},
                            files={"file": ("across.txt", b"words for the worker\n", "text/plain")})
    assert response.status_code == 302, response.text[:1000]
    document = Document.objects.get(title="Across")
    deadline = time.monotonic() + 30
    while document.text_status == TextStatus.PENDING and time.monotonic() < deadline:
        time.sleep(0.2)
        document.refresh_from_db()
    assert document.text_status == TextStatus.READY, worker.log.read_text()
    assert "words for the worker" in document.text.body
