"""Sessions across app servers, through the balancer, for each strategy of `strongbox cluster up --sessions`:
a store of each server's own loses the session when the next request lands on the other server, unless the
balancer keeps the browser on one server (--sticky); every shared store keeps it without stickiness."""

import types

import pytest
from django.conf import settings
from running import RunningCluster

from processes import Browser
from strongbox.cluster.render.haproxy import STICKY_COOKIE

pytestmark = pytest.mark.skipif(settings.SCALE_OUT_RUN, reason="the cluster runs its own data tier: the "
                                "embedded pass runs it once")

PASSWORD = "a cluster-wide passphrase 42"
REQUESTS = 8


@pytest.mark.parametrize("sessions", ["local", "db", "cache", "cached_db", "signed_cookies"])
def test_it_keeps_a_signed_in_user_signed_in_on_every_server_unless_sessions_are_local(sessions, cluster_binaries):
    # Sticky for the local store: a browser that keeps the balancer's cookie stays on one server; one that drops
    # it (as a client without cookies for that name would) is balanced as without --sticky. One cluster shows both.
    cluster = RunningCluster("--servers", "2", "--workers", "0", "--web-workers", "1", "--sessions", sessions,
                             *(["--sticky"] if sessions == "local" else []))
    try:
        created = cluster.manage("createuser", "--username", "carol", "--email", "carol@example.com",
                                 env={"STRONGBOX_PASSWORD": PASSWORD})
        assert "Created carol" in created.stdout, created.stdout + created.stderr
        if sessions == "local":
            _check(cluster, sessions, sticky=True, keeps_the_session=True)
            _check(cluster, sessions, sticky=False, keeps_the_session=False)
        else:
            _check(cluster, sessions, sticky=False, keeps_the_session=True)
    finally:
        cluster.stop()


def _check(cluster: RunningCluster, sessions: str, sticky: bool, keeps_the_session: bool) -> None:
    """Sign in through the balancer, then load a signed-in page REQUESTS times, noting which server answered."""
    browser = Browser(types.SimpleNamespace(url=cluster.url))
    if not sticky:  # forget the balancer's cookie after every answer
        browser.session.hooks["response"].append(lambda response, **kwargs: browser.session.cookies.set(
            STICKY_COOKIE, None))
    browser.get("/accounts/login/")  # the CSRF cookie
    signed_in, sign_in_server = _served(cluster, lambda: browser.sign_in("carol", PASSWORD))
    assert signed_in.status_code == 302 and "/accounts/login/" not in signed_in.headers["Location"]
    answers = [_served(cluster, lambda: browser.get("/documents/")) for _ in range(REQUESTS)]
    answers = [(server, page.status_code == 200) for page, server in answers]
    servers = {server for server, _ in answers}
    how = "" if sessions != "local" else " --sticky" + ("" if sticky else ", balancer cookie dropped")
    print(f"\n--sessions {sessions}{how}: signed in on {sign_in_server}, then {answers}")
    if sticky:
        assert servers == {sign_in_server}
    else:
        assert servers == {"app1", "app2"}  # round robin, one connection per request
    if keeps_the_session:
        assert all(kept for _, kept in answers), answers
    else:
        # The other server has no such session: it answers with the sign-in page (and clears the cookie).
        first_elsewhere = next(kept for server, kept in answers if server != sign_in_server)
        assert not first_elsewhere, answers


def _served(cluster: RunningCluster, request):
    """Return request()'s response and the app server that answered it (its session count went up)."""
    before = _totals(cluster)
    response = request()
    after = _totals(cluster)
    return response, next(name for name in after if after[name] > before.get(name, 0))


def _totals(cluster: RunningCluster) -> dict[str, int]:
    return {name: server.total_sessions for name, server in cluster.runtime.servers().items()}
