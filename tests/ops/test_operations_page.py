"""The operations page at /ops/ and its figures at /ops/figures.json: staff only (anyone else gets the 404 of a
missing page), each section there, and the balancer's section read from a real HAProxy."""

import json
import os
import re
import socket
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from cluster.conftest import RecordingServer, require
from helpers import make_user
from services.common import free_port, log_tail
from strongbox.ops.dashboard.balancer import TIMEOUT_SECONDS, balancer_state, parse_servers
from strongbox.ops.models import Job

pytestmark = pytest.mark.django_db
PAGES = ("/ops/", "/ops/figures.json")


@pytest.fixture
def staff_client(db, password_hash):
    client = Client()
    client.force_login(make_user("sam", password_hash, is_staff=True))
    return client


def figures(client) -> dict:
    response = client.get("/ops/figures.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.json()


def test_it_shows_staff_the_page_with_each_section(staff_client):
    response = staff_client.get("/ops/")
    assert response.status_code == 200
    page = response.content.decode()
    for heading in ("This server", "Balancer", "Replicas", "Task queue"):
        assert f">{heading}</h2>" in page
    assert 'data-figures-url="/ops/figures.json"' in page
    assert "/static/js/ops.js" in page
    assert "No balancer is configured" in page


@pytest.mark.parametrize("path", PAGES)
def test_it_answers_anyone_else_as_for_a_missing_page(path, anonymous_client, bob_client):
    for client in (anonymous_client, bob_client):
        missing = client.get("/no-such-page")
        refused = client.get(path)
        assert refused.status_code == missing.status_code == 404
        assert refused.content == missing.content
        assert client.post(path).content == missing.content


def test_it_links_the_page_for_staff_only(staff_client, bob_client):
    assert 'href="/ops/"' in staff_client.get("/documents/").content.decode()
    assert 'href="/ops/"' not in bob_client.get("/documents/").content.decode()


def test_it_gives_every_section_in_the_figures(staff_client):
    data = figures(staff_client)
    assert set(data) == {"time", "server", "balancer", "replicas", "queue"}
    assert abs(data["time"] - time.time()) < 60
    assert data["balancer"] == {"state": "not_configured"}
    assert data["queue"] == {"depth": 0, "oldest_waiting_seconds": 0.0}
    assert [replica["alias"] for replica in data["replicas"]] == [
        alias for alias in django_settings.DATABASES if alias.startswith("replica")]


def test_it_counts_this_servers_requests_without_probes_or_its_own_polls(staff_client):
    before = figures(staff_client)["server"]
    staff_client.get("/documents/")
    staff_client.get("/no-such-page")
    staff_client.get("/healthz")
    after = figures(staff_client)["server"]
    assert after["id"] == before["id"]
    assert after["requests"]["count"] - before["requests"]["count"] == 2
    assert after["requests"]["sum_seconds"] > before["requests"]["sum_seconds"]
    buckets = after["requests"]["buckets"]
    assert buckets[-1] == ["+Inf", after["requests"]["count"]]
    assert [bound for bound, _ in buckets[:-1]] == sorted(bound for bound, _ in buckets[:-1])
    [process] = [process for process in after["processes"] if process["pid"] == os.getpid()]
    assert process["role"] == "web" and process["resident_bytes"] > 10 * 1024**2 and process["cpu_seconds"] > 0


def test_it_gives_the_queue_depth_and_the_oldest_wait(staff_client):
    now = timezone.now()
    Job.objects.bulk_create([Job(kind="test.kind", due_at=now - timedelta(seconds=seconds)) for seconds in (30, 5, 1)])
    Job.objects.create(kind="test.kind", due_at=now + timedelta(hours=1))  # not due yet
    queue = figures(staff_client)["queue"]
    assert queue["depth"] == 3
    assert 30 <= queue["oldest_waiting_seconds"] < 90
    assert ">3</dd>" in staff_client.get("/ops/").content.decode()


@pytest.mark.skipif(not django_settings.SCALE_OUT_RUN, reason="replicas are the scale-out shape's")
def test_it_shows_the_streaming_replica_up(staff_client):
    [replica] = figures(staff_client)["replicas"]
    assert replica["alias"] == "replica1" and replica["up"] is True
    assert replica["lag_bytes"] >= 0 and replica["lag_seconds"] >= 0
    assert "ops-state-up" in staff_client.get("/ops/").content.decode()


# The balancer: a real HAProxy with a stats frontend, and a backend of a server that answers its health checks, one
# whose port is closed, and one in maintenance.

HAPROXY_CONFIG = """\
global
    maxconn 200
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
backend app
    option httpchk GET /readyz
    default-server check inter 200ms fall 1 rise 1
    server web1 127.0.0.1:{up_port}
    server web2 127.0.0.1:{closed_port}
    server web3 127.0.0.1:{closed_port} disabled weight 5
"""


@pytest.fixture
def haproxy_stats(tmp_path):
    """Start HAProxy; return its stats CSV URL once web1 is up and web2 down."""
    haproxy = require("haproxy")
    answering = RecordingServer("web1")
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(stats_port=port, up_port=answering.port, closed_port=free_port()))
    log = tmp_path / "haproxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=output,  # noqa: S603
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/stats;csv"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log_tail(log)
            assert time.monotonic() < deadline, f"web1 not up and web2 not down: {log_tail(log)}"
            try:
                import urllib.request

                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                    states = {row["name"]: row["state"] for row in parse_servers(response.read().decode())}
                if states == {"web1": "UP", "web2": "DOWN", "web3": "MAINT"}:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        answering.close()


def test_it_shows_each_server_of_a_real_balancer(staff_client, settings, haproxy_stats):
    settings.BALANCER_STATS_URL = haproxy_stats
    balancer = figures(staff_client)["balancer"]
    assert balancer["state"] == "ok" and balancer["url"] == haproxy_stats
    servers = {server["name"]: server for server in balancer["servers"]}
    assert list(servers) == ["web1", "web2", "web3"]
    assert {name: server["state"] for name, server in servers.items()} == {"web1": "UP", "web2": "DOWN",
                                                                            "web3": "MAINT"}
    for server in servers.values():
        assert server["backend"] == "app"
        assert server["sessions"] == 0 and server["session_rate"] == 0 and server["responses_5xx"] == 0
        assert isinstance(server["response_ms"], int)
    assert servers["web1"]["weight"] == 1 and servers["web3"]["weight"] == 5
    page = staff_client.get("/ops/").content.decode()
    assert "app/web1" in page and "ops-state-down" in page and "ops-state-maint" in page


def test_it_keeps_the_balancers_password_off_the_page(staff_client, settings, haproxy_stats):
    settings.BALANCER_STATS_URL = haproxy_stats.replace("http://", "http://admin:s3cret@")
    response = staff_client.get("/ops/figures.json")
    assert response.json()["balancer"]["url"] == haproxy_stats
    assert b"s3cret" not in response.content and b"s3cret" not in staff_client.get("/ops/").content


def assert_gives_up_in_time(url: str) -> None:
    """The balancer's part of a poll ends on its deadline. Timed on its own: the rest of a poll (the server's
    metrics) is not what is bounded here, and takes longer on a machine busy with other work."""
    started = time.monotonic()
    state = balancer_state(url)
    assert time.monotonic() - started < TIMEOUT_SECONDS + 0.5
    assert state["state"] == "unreachable"


def test_it_says_a_closed_balancer_port_is_unreachable_at_once(staff_client, settings):
    settings.BALANCER_STATS_URL = f"http://127.0.0.1:{free_port()}/stats;csv"
    assert_gives_up_in_time(settings.BALANCER_STATS_URL)
    response = staff_client.get("/ops/figures.json")
    assert response.status_code == 200
    balancer = response.json()["balancer"]
    assert balancer["state"] == "unreachable" and balancer["error"]
    page = staff_client.get("/ops/")
    assert page.status_code == 200 and "are unreachable" in page.content.decode()


def test_it_gives_up_on_a_balancer_that_does_not_answer_within_a_second(staff_client, settings):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.BALANCER_STATS_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/stats;csv"
        assert_gives_up_in_time(settings.BALANCER_STATS_URL)
        balancer = figures(staff_client)["balancer"]
    assert balancer["state"] == "unreachable"


def test_it_gives_up_on_a_balancer_that_answers_too_slowly(staff_client, settings):
    """A whole second in all, however the time is spent: here on a body that arrives a few bytes at a time."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def drip():
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:  # closed
                return
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n# pxname,")
                while not done.wait(0.2):
                    try:
                        connection.sendall(b"x")
                    except OSError:
                        break

    threading.Thread(target=drip, daemon=True).start()
    settings.BALANCER_STATS_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/stats;csv"
    try:
        assert_gives_up_in_time(settings.BALANCER_STATS_URL)
        balancer = figures(staff_client)["balancer"]
    finally:
        done.set()
        listener.close()
    assert balancer["state"] == "unreachable" and "within" in balancer["error"]


@pytest.mark.parametrize("body", ["<html>a login page</html>", ""])
def test_it_says_an_answer_that_is_not_haproxys_csv_is_unreachable(staff_client, settings, body):
    server = RecordingServer("not-haproxy")  # answers JSON to anything
    try:
        settings.BALANCER_STATS_URL = f"http://127.0.0.1:{server.port}/stats;csv"
        balancer = figures(staff_client)["balancer"]
    finally:
        server.close()
    assert balancer["state"] == "unreachable"
    assert json.dumps(balancer)  # and the page still answers


# Real app servers: the figures of one server are the same whichever of its workers answers, and another server
# has a name of its own (the page pairs each server's readings only with its own).

@pytest.fixture(scope="module")
def installation(tmp_path_factory, django_db_blocker):
    from processes import PASSWORD, Installation

    with django_db_blocker.unblock():
        installation = Installation(tmp_path_factory.mktemp("operations"))
        installation.manage("createuser", "--username", "sam", "--email", "sam@example.com", "--staff",
                            STRONGBOX_PASSWORD=PASSWORD)
    yield installation
    installation.close()


def test_it_adds_up_every_worker_of_a_server_under_one_name(installation):
    from processes import Browser

    first, second = installation.serve(workers=2), installation.serve(workers=2)
    staff = Browser(first)
    assert staff.sign_in("sam").status_code == 302
    page = staff.get("/ops/")
    assert page.status_code == 200
    script = re.search(r'src="(/static/js/ops\.[0-9a-f]+\.js)"', page.text)  # collected, with a hashed name
    assert script and staff.get(script.group(1)).status_code == 200

    readings = [staff.get("/ops/figures.json").json()["server"] for _ in range(12)]  # new connection each time
    pids = {process["pid"] for reading in readings for process in reading["processes"]}
    assert len(pids) == 2 and {reading["id"] for reading in readings} == {readings[0]["id"]}
    for _ in range(5):
        assert staff.get("/documents/").status_code == 200
    after = staff.get("/ops/figures.json").json()["server"]
    assert after["requests"]["count"] - readings[-1]["requests"]["count"] == 5

    other = Browser(second)
    other.session.cookies = staff.session.cookies  # the same session, on the other server
    assert other.get("/ops/figures.json").json()["server"]["id"] != readings[0]["id"]
