"""`strongbox cluster up --tls`: HAProxy terminates HTTPS with a certificate the command made, redirects plain
HTTP there, and the app servers behind it run the production profile, believing X-Forwarded-For and -Proto from
the balancer only."""

import re
import socket
import ssl

import pytest
import requests
from django.conf import settings
from running import RunningCluster

from processes import _FromAddress

pytestmark = pytest.mark.skipif(settings.SCALE_OUT_RUN, reason="the cluster runs its own data tier: the "
                                "embedded pass runs it once")

PASSWORD = "a cluster-wide passphrase 42"
CLIENT = "127.0.0.9"  # a loopback address of the browser's own, so the audit log can show it came through


@pytest.fixture(scope="module")
def cluster(cluster_binaries):
    running = RunningCluster("--tls", "--servers", "2", "--workers", "0", "--web-workers", "1",
                             env={"STRONGBOX_PASSWORD": PASSWORD})
    created = running.manage("createuser", "--username", "dave", "--email", "dave@example.com")
    assert "Created dave" in created.stdout, created.stdout + created.stderr
    yield running
    running.stop()


def _browser() -> requests.Session:
    session = requests.Session()
    session.mount("https://", _FromAddress(CLIENT))
    session.mount("http://", _FromAddress(CLIENT))
    return session


def test_it_redirects_plain_http_to_https(cluster):
    answer = _browser().get(f"http://127.0.0.1:{cluster.port}/documents/?page=2", allow_redirects=False, timeout=10)
    https_port = cluster.status()["url"].rsplit(":", 1)[1].rstrip("/")
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"https://127.0.0.1:{https_port}/documents/?page=2"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_it_serves_https_with_its_own_certificate_and_modern_tls_only(cluster):
    certificate = cluster.root / "haproxy" / "balancer.pem"
    host, port = "localhost", int(cluster.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(certificate))
    with socket.create_connection((host, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=host) \
            as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert dict(item[0] for item in tls.getpeercert()["subject"])["commonName"] == "localhost"
    # A client that offers TLS 1.1 only (its security level lowered so that it may): the balancer refuses it.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(certificate))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError), socket.create_connection((host, port), timeout=5) as raw:
        old.wrap_socket(raw, server_hostname=host)
    assert certificate.stat().st_mode & 0o077 == 0  # the private key inside is the owner's alone


def test_the_app_servers_run_the_production_profile_behind_it(cluster):
    verify = str(cluster.root / "haproxy" / "balancer.pem")
    page = _browser().get(cluster.url + "/accounts/login/", verify=verify, timeout=10)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-csrftoken=") and "Secure" in cookie


def test_sign_in_works_and_the_audit_log_sees_the_real_client(cluster):
    verify = str(cluster.root / "haproxy" / "balancer.pem")
    browser = _browser()
    form = browser.get(cluster.url + "/accounts/login/", verify=verify, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = browser.post(cluster.url + "/accounts/login/", verify=verify, timeout=10, allow_redirects=False,
                          data={"username": "dave", "password": PASSWORD, "csrfmiddlewaretoken": token},
                          headers={"Referer": cluster.url + "/accounts/login/"})
    assert answer.status_code == 302, answer.text[:500]
    assert browser.get(cluster.url + "/documents/", verify=verify, timeout=10).status_code == 200
    shown = cluster.manage("shell", "-c", "from strongbox.accounts.models import AuditEvent; print(AuditEvent."
                           "objects.filter(kind='login', username='dave').values_list('ip', flat=True).last())")
    assert shown.stdout.strip().splitlines()[-1] == CLIENT, shown.stdout + shown.stderr
