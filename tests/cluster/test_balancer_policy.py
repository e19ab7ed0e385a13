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


def test_it_sends_a_get_refused_by_a_dead_server_elsewhere(balancer, recording_servers):
    quick = recording_servers("quick")
    dead = recording_servers("dead")
    dead.close()  # its port now refuses connections, and the balancer has not checked it yet
    running = balancer([dead.server, quick.server])
    answers = [requests.get(f"{running.url}/page/{n}", timeout=10) for n in range(4)]
    assert [answer.status_code for answer in answers] == [200] * 4
    assert quick.calls("GET", "/page/0") == 1 and len(quick.requests) == 4
