"""What the rendered config makes HAProxy do to requests, seen from servers that record what reaches them: the
headers the app servers may believe, and retries for idempotent requests only."""

import re
import uuid

import requests

from processes import _FromAddress
from strongbox.cluster.spec import Timeouts

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")


def client_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def test_it_passes_the_real_client_address_scheme_and_a_request_id_to_the_servers(balancer, recording_servers):
    app = recording_servers("app1")
    running = balancer([app.server])
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Request-ID": "forged"}
    response = client_from("127.0.0.2").get(f"{running.url}/documents/", headers=forged, timeout=10)
    assert response.status_code == 200
    seen = response.json()["headers"]
    # What the client claimed is replaced by what the balancer saw.
    assert seen["x-forwarded-for"] == "127.0.0.2"
    assert seen["x-forwarded-proto"] == "http"
    assert UUID.fullmatch(seen["x-request-id"])
    # The same id comes back to the client and is in the balancer's log line for the request.
    assert response.headers["X-Request-ID"] == seen["x-request-id"]
    running.wait(lambda: seen["x-request-id"] in running.log.read_text(), "the request id was not logged")
    line = next(line for line in running.log.read_text().splitlines() if seen["x-request-id"] in line)
    assert line.startswith(seen["x-request-id"] + " 127.0.0.2:") and '"GET /documents/ HTTP/1.1"' in line


def test_it_gives_the_balancers_own_answers_a_request_id_too(balancer, recording_servers):
    app = recording_servers("app1")
    running = balancer([app.server])
    running.api.run(["set server app/app1 state maint"])
    response = requests.get(f"{running.url}/", timeout=10)
    assert response.status_code == 503
    assert UUID.fullmatch(response.headers["X-Request-ID"])


def test_it_retries_a_get_that_timed_out_on_another_server(balancer, recording_servers):
    slow, quick = recording_servers("slow", delay=5), recording_servers("quick")
    running = balancer([slow.server, quick.server], timeouts=Timeouts(server=1_000))
    running.wait_until_checked()
    # Round robin sends at least one of the two to the slow server first.
    responses = [requests.get(f"{running.url}/slow/{uuid.uuid4().hex}", timeout=20) for _ in range(2)]
    assert [response.status_code for response in responses] == [200, 200]
    assert {response.json()["server"] for response in responses} == {"quick"}
    assert len(quick.requests) == 2 and len(slow.requests) >= 1
    assert running.servers()["slow"].redispatches == len(slow.requests)


def test_it_never_replays_a_post_on_another_server(balancer, recording_servers):
    slow, quick = recording_servers("slow", delay=5), recording_servers("quick")
    running = balancer([slow.server, quick.server], timeouts=Timeouts(server=1_000))
    running.wait_until_checked()
    statuses = sorted(requests.post(f"{running.url}/slow/upload", data=b"x" * 1000, timeout=20).status_code
                      for _ in range(2))
    # The POST the slow server is still running ends in a 504 for its client rather than a second run elsewhere.
    assert statuses == [200, 504]
    assert slow.calls("POST", "/slow/upload") == 1 and quick.calls("POST", "/slow/upload") == 1
    assert running.servers()["slow"].redispatches == 0


def retries_logged(running, method: str) -> list[int]:
    """How often each request of `method` was retried, from the balancer's log (%rc, '+' when redispatched)."""
    # After the termination state (4 characters): actconn/feconn/beconn/srvconn/retries.
    pattern = re.compile(r" [-A-Za-z]{4} \d+/\d+/\d+/\d+/\+?(\d+) .*\"" + method + " ")
    return [int(match.group(1)) for line in running.log.read_text().splitlines() if (match := pattern.search(line))]


def test_it_sends_requests_refused_by_a_dead_server_elsewhere(balancer, recording_servers):
    quick, dead = recording_servers("quick"), recording_servers("dead")
    running = balancer([dead.server, quick.server])
    running.wait_until_checked()
    dead.close()
    # Two failed checks half a second apart take it out; until then round robin gives it every other request,
    # GETs and POSTs alike (a refused connection never reached a server, so a POST is safe to send elsewhere).
    answers = [requests.request(method, f"{running.url}/page/{n}", timeout=10)
               for n, method in enumerate(["GET", "GET", "POST", "POST"] * 2)]
    assert [answer.status_code for answer in answers] == [200] * 8
    assert len(quick.requests) == 8
    running.wait(lambda: len(retries_logged(running, "POST")) == 4, "the requests were not logged")
    assert max(retries_logged(running, "GET")) == 1 and max(retries_logged(running, "POST")) == 1
    assert running.servers()["dead"].redispatches == sum(retries_logged(running, "GET") + retries_logged(running,
                                                                                                        "POST"))


def test_a_sticky_client_of_a_dead_server_moves_to_another(balancer, recording_servers):
    app1, app2 = recording_servers("app1"), recording_servers("app2")
    running = balancer([app1.server, app2.server], sticky=True)
    browser = requests.Session()
    first = browser.get(f"{running.url}/page", timeout=10).json()["server"]
    assert browser.cookies["SERVERID"] == first
    {"app1": app1, "app2": app2}[first].close()
    other = ({"app1", "app2"} - {first}).pop()
    assert [browser.get(f"{running.url}/page", timeout=10).json()["server"] for _ in range(3)] == [other] * 3
    assert browser.cookies["SERVERID"] == other


def test_it_shows_stats_and_prometheus_metrics_on_the_admin_port(balancer, recording_servers):
    running = balancer([recording_servers("app1").server])
    running.wait_until_checked()
    requests.get(f"{running.url}/page", timeout=10)
    admin = f"http://127.0.0.1:{running.spec.admin_port}"
    metrics = requests.get(f"{admin}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert 'haproxy_server_status{proxy="app",server="app1",state="UP"} 1' in metrics.text
    assert 'haproxy_server_sessions_total{proxy="app",server="app1"} 1' in metrics.text
    stats = requests.get(f"{admin}/", timeout=10)
    assert stats.status_code == 200 and "Statistics Report" in stats.text
