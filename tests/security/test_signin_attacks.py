"""Getting around the sign-in limits: look-alike names, parallel guesses, and failed sign-ins as a lever to stall
everyone else; and what a sign-in to an account not activated yet says.

The race and the stall need several app processes with several threads each, as production runs: this module
starts its own server (two workers) beside the suite's one-worker server.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import PASSWORD, Server, prepare, serving
from services.common import free_port

pytestmark = pytest.mark.security
LIMIT = 5  # LOGIN_FAILURES_PER_ACCOUNT's default, which both servers use
GENERIC = "Please enter a correct username and password"
NOT_ACTIVATED = "This account is not activated yet"


def login(server: Server, username: str, password: str) -> requests.Response:
    session = server.session()
    token = server.csrf(session, "/accounts/login/")
    return session.post(server.url + "/accounts/login/", allow_redirects=False,
                        data={"csrfmiddlewaretoken": token, "username": username, "password": password})


def failed_checks(server: Server, username: str) -> int:
    """The password checks that failed for `username`, as the audit log recorded them (one row per check)."""
    return server.query("SELECT count(*) FROM accounts_auditevent WHERE kind = 'login_failed' AND username = ?",
                        (username,))[0][0]


@pytest.fixture(scope="module")
def busy_server(server, tmp_path_factory):
    """`strongbox serve` with two workers of eight threads each, three of which may check passwords at once (six in
    all: more than the limit of five, so the race is there to lose); in the suite server's configuration otherwise
    (its certificate and environment, a data directory of its own)."""
    root = tmp_path_factory.mktemp("signin")
    port = free_port()
    certificate = server.certificate
    env = {**server.env, "STRONGBOX_DATA_DIR": str(root / "data"), "STRONGBOX_SIGNIN_CHECKS_PER_PROCESS": "3"}
    env["STRONGBOX_SITE_URL"] = f"https://localhost:{port}"
    server = Server(url=f"https://localhost:{port}", data_dir=root / "data", certificate=certificate, env=env)
    prepare(server, ("alice", "frank"))
    with serving(server, certificate.with_name("key.pem"), "--workers", "2", "--threads", "8", "--no-worker"):
        yield server


def test_every_spelling_of_a_name_shares_one_lockout(server):
    server.strongbox("createuser", "--username", "erin", "--email", "erin@example.com", STRONGBOX_PASSWORD=PASSWORD)
    spellings = ["ｅｒｉｎ", "𝐞𝐫𝐢𝐧", "ᵉrin", "ERIN", "erin"]
    # Each spelling of the name signs into erin's account (Django's form normalizes it): they must share a budget.
    statuses = [login(server, spellings[i % 4], "wrong password 123").status_code for i in range(LIMIT)]
    assert statuses == [400] * LIMIT
    for spelling in spellings:
        response = login(server, spelling, PASSWORD)
        assert response.status_code == 429, (spelling, response.status_code)
        assert "Too many failed sign-in attempts" in response.text
    assert server.query("SELECT count(*) FROM accounts_auditevent a JOIN accounts_user u ON a.user_id = u.id "
                        "WHERE u.username = 'erin' AND a.kind = 'login'") == [(0,)]


def _until_answered(server: Server, username: str) -> int:
    """Post one wrong password; while every check slot is taken (503), try again: return the final status."""
    while True:
        status = login(server, username, "wrong password 123").status_code
        if status != 503:
            return status
        time.sleep(0.05)


def test_parallel_guesses_get_exactly_the_limit_of_checks(busy_server):
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda _: _until_answered(busy_server, "frank"), range(40)))
    assert sorted(statuses) == [400] * LIMIT + [429] * (40 - LIMIT)
    assert failed_checks(busy_server, "frank") == LIMIT
    assert login(busy_server, "frank", PASSWORD).status_code == 429


def test_a_burst_of_failed_sign_ins_does_not_stall_other_users(busy_server):
    api = busy_server.api(busy_server.api_key("alice", scope="read"))
    assert api.get(busy_server.url + "/api/v1/me").status_code == 200
    # Forty wrong passwords at once (forms fetched beforehand), more than both processes have threads.
    forms = []
    for i in range(40):
        session = busy_server.session()
        forms.append((session, busy_server.csrf(session, "/accounts/login/"), f"nobody{i}"))
    start = threading.Barrier(40)

    def attempt(form) -> int:
        session, token, name = form
        start.wait()
        return session.post(busy_server.url + "/accounts/login/", allow_redirects=False, data={
            "csrfmiddlewaretoken": token, "username": name, "password": "wrong password 123"}).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        burst = [pool.submit(attempt, form) for form in forms]
        time.sleep(0.3)  # the burst has reached the server: before the fix every thread sleeps in the floor now
        latencies = []
        while not all(future.done() for future in burst) or not latencies:
            started = time.monotonic()
            assert api.get(busy_server.url + "/api/v1/me", timeout=30).status_code == 200
            latencies.append(time.monotonic() - started)
    # Before the fix the first of these waited for the floor (a second) or, on 2 cores, for the 16 Argon2 checks
    # running at once (14 s measured); the bound leaves room for a loaded machine. bench/signin_burst.py measures.
    assert max(latencies) < 3, latencies
    statuses = [future.result() for future in burst]
    # Those that found no check slot were told so at once, not queued behind the others.
    # Four checks run at once (two processes, two slots each), each holding its slot about a second; the few
    # requests that arrive later than the rest (TLS handshakes on a loaded machine) may find one free again.
    assert set(statuses) <= {400, 503} and statuses.count(503) >= 25, statuses


def test_the_right_password_to_an_account_not_activated_says_so(busy_server):
    session = busy_server.session()
    token = busy_server.csrf(session, "/accounts/signup/")
    response = session.post(busy_server.url + "/accounts/signup/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "username": "ivan", "email": "ivan@example.com",
        "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    right = login(busy_server, "ivan", PASSWORD)
    assert right.status_code == 400 and NOT_ACTIVATED in right.text and GENERIC not in right.text
    wrong = login(busy_server, "ivan", "wrong password 123")
    assert wrong.status_code == 400 and GENERIC in wrong.text and NOT_ACTIVATED not in wrong.text
    nobody = login(busy_server, "ivan2", PASSWORD)
    assert nobody.status_code == 400 and GENERIC in nobody.text and NOT_ACTIVATED not in nobody.text
