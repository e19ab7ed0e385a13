"""The rendered haproxy.cfg as text, option by option, and each variant accepted by `haproxy -c` without a
warning."""

import dataclasses
from pathlib import Path

import pytest

from conftest import check_config
from strongbox.cluster.render import render_haproxy
from strongbox.cluster.render.haproxy import LOG_FORMAT
from strongbox.cluster.runtime import EMPTY_SERVER_STATE
from strongbox.cluster.spec import BALANCE_METHODS, BalancerSpec, Server, Timeouts

SERVERS = [Server("app1", "127.0.0.1", 8001), Server("app2", "10.0.0.2", 8000)]


def spec(**options) -> BalancerSpec:
    return BalancerSpec(servers=SERVERS, runtime_socket="/run/strongbox/haproxy.sock", **options)


def lines(config: str, section: str) -> list[str]:
    """The directives of one section (e.g. "backend app"), stripped."""
    blocks = {block.splitlines()[0]: [line.strip() for line in block.splitlines()[1:]]
              for block in config.split("\n\n") if block and not block.startswith("#")}
    return blocks[section]


def test_it_health_checks_every_server_on_readyz():
    backend = lines(render_haproxy(spec()), "backend app")
    assert "option httpchk GET /readyz" in backend
    assert "http-check send hdr Host localhost" in backend
    assert "http-check expect status 200" in backend
    assert "default-server check inter 1s fastinter 500ms fall 2 rise 2 slowstart 10s" in backend
    assert backend[-2:] == ["server app1 127.0.0.1:8001", "server app2 10.0.0.2:8000"]


def test_it_checks_with_a_host_name_the_app_servers_accept():
    backend = lines(render_haproxy(spec(health_check_host="docs.example.com")), "backend app")
    assert "http-check send hdr Host docs.example.com" in backend


def test_it_retries_only_idempotent_requests_on_another_server():
    config = render_haproxy(spec())
    defaults = lines(config, "defaults app-traffic")
    assert "retries 2" in defaults
    assert "retry-on conn-failure empty-response response-timeout" in defaults
    assert "option redispatch 1" in defaults
    assert "http-request disable-l7-retry unless METH_GET || METH_HEAD" in lines(config, "backend app")


@pytest.mark.parametrize("method", BALANCE_METHODS)
def test_it_balances_by_the_chosen_method(method):
    backend = lines(render_haproxy(spec(balance=method)), "backend app")
    assert backend[0] == f"balance {method}"
    # Consistent hashing for source only: adding a server moves only the clients that now hash to it.
    assert ("hash-type consistent" in backend) == (method == "source")


def test_it_refuses_an_unknown_method_and_unsafe_names():
    with pytest.raises(ValueError, match="balance must be one of"):
        spec(balance="first")
    with pytest.raises(ValueError, match="server name"):
        Server("app 1", "127.0.0.1", 8001)
    with pytest.raises(ValueError, match="port"):
        Server("app1", "127.0.0.1", 0)
    with pytest.raises(ValueError, match="differ"):
        BalancerSpec(servers=[SERVERS[0], SERVERS[0]], runtime_socket="/run/haproxy.sock")
    with pytest.raises(ValueError, match="one word"):
        spec(health_check_host="localhost\n    server evil 203.0.113.1:80")
    with pytest.raises(ValueError, match="at least one server"):
        BalancerSpec(servers=[], runtime_socket="/run/haproxy.sock")


def test_it_sets_forwarding_headers_and_a_request_id_of_its_own():
    frontend = lines(render_haproxy(spec()), "frontend www")
    assert frontend[0] == "bind 127.0.0.1:8080"
    assert "option forwardfor" in frontend
    # The client's own X-Forwarded-For is dropped before HAProxy adds the address it saw.
    assert "http-request del-header X-Forwarded-For" in frontend
    assert "http-request set-header X-Forwarded-Proto https if { ssl_fc }" in frontend
    assert "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }" in frontend
    assert "unique-id-format %[uuid()]" in frontend
    assert "http-request set-header X-Request-ID %[unique-id]" in frontend
    assert "http-after-response set-header X-Request-ID %[unique-id]" in frontend
    assert not any("ssl crt" in line or "redirect" in line for line in frontend)


def test_it_logs_the_request_id_and_the_retries():
    defaults = lines(render_haproxy(spec()), "defaults app-traffic")
    assert f'log-format "{LOG_FORMAT}"' in defaults
    assert LOG_FORMAT.startswith("%ID ") and "/%rc " in LOG_FORMAT


def test_it_inserts_a_cookie_per_server_when_sticky():
    backend = lines(render_haproxy(spec(sticky=True)), "backend app")
    assert "cookie SERVERID insert indirect nocache httponly" in backend
    assert backend[-2:] == ["server app1 127.0.0.1:8001 cookie app1", "server app2 10.0.0.2:8000 cookie app2"]
    assert not any(line.startswith("cookie") for line in lines(render_haproxy(spec()), "backend app"))


def test_it_terminates_tls_and_redirects_plain_http_to_it():
    config = render_haproxy(spec(tls_certificate="/etc/strongbox/balancer.pem", https_port=443))
    frontend = lines(config, "frontend www")
    assert frontend[:2] == ["bind 127.0.0.1:8080",
                            "bind 127.0.0.1:443 ssl crt /etc/strongbox/balancer.pem alpn h2,http/1.1"]
    assert ("http-request redirect location https://%[req.hdr(host),regsub(:[0-9]+$,)]%[capture.req.uri] code 301 "
            "unless { ssl_fc }") in frontend
    assert "ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets" in lines(config, "global")
    backend = lines(config, "backend app")
    # The checks say HTTPS as real requests do, so the production profile's HTTPS redirect does not fail them.
    assert "http-check send hdr Host localhost hdr X-Forwarded-Proto https" in backend
    assert "cookie SERVERID insert indirect nocache httponly secure" in lines(
        render_haproxy(spec(tls_certificate="/etc/strongbox/balancer.pem", sticky=True)), "backend app")


def test_it_redirects_to_a_port_other_than_443_by_name():
    frontend = lines(render_haproxy(spec(tls_certificate="/etc/balancer.pem", https_port=8443)), "frontend www")
    assert any(":8443%[capture.req.uri] code 301" in line for line in frontend)


def test_it_puts_stats_metrics_and_the_runtime_api_on_loopback():
    config = render_haproxy(spec(admin_port=9000))
    socket = "stats socket /run/strongbox/haproxy.sock mode 600 level admin expose-fd listeners"
    assert socket in lines(config, "global")
    admin = lines(config, "frontend admin")
    assert admin[0] == "bind 127.0.0.1:9000"
    assert "http-request use-service prometheus-exporter if { path /metrics }" in admin
    assert {"stats enable", "stats uri /"} <= set(admin)


def test_it_renders_timeouts_and_graceful_stop():
    config = render_haproxy(spec(timeouts=Timeouts(connect=500, server=30_000), hard_stop_after=20_000))
    defaults = lines(config, "defaults app-traffic")
    assert {"timeout connect 500ms", "timeout server 30s", "timeout client 60s", "timeout http-request 10s",
            "timeout check 2s"} <= set(defaults)
    assert "hard-stop-after 20s" in lines(config, "global")


def test_it_loads_server_states_from_a_file_when_given_one():
    config = render_haproxy(spec(server_state_file="/var/lib/strongbox/servers.state"))
    assert "server-state-file /var/lib/strongbox/servers.state" in lines(config, "global")
    assert "load-server-state-from-file global" in lines(config, "defaults app-traffic")
    assert "server-state" not in render_haproxy(spec())


def test_it_brackets_ipv6_addresses():
    config = render_haproxy(BalancerSpec(servers=[Server("app1", "::1", 8001)], runtime_socket="/run/h.sock",
                                         bind_host="::", admin_host="::1"))
    assert "bind [::]:8080" in lines(config, "frontend www")
    assert "server app1 [::1]:8001" in lines(config, "backend app")
    assert "bind [::1]:8404" in lines(config, "frontend admin")


VARIANTS = {f"balance-{method}": {"balance": method} for method in BALANCE_METHODS} | {
    "sticky": {"sticky": True}, "tls": {"tls": True}, "tls-sticky-leastconn": {"tls": True, "sticky": True,
                                                                               "balance": "leastconn"},
    "state-file": {"state": True}, "tuned": {"server_maxconn": 64, "slowstart": 0, "timeouts": Timeouts(connect=500)}}


@pytest.mark.parametrize("variant", VARIANTS)
def test_haproxy_accepts_every_variant_without_a_warning(variant, haproxy_binary, certificate, tmp_path):
    options = dict(VARIANTS[variant])
    if options.pop("tls", False):
        options["tls_certificate"] = str(certificate)
    if options.pop("state", False):
        # As the command writes it before the first start.
        (tmp_path / "servers.state").write_text(EMPTY_SERVER_STATE)
        options["server_state_file"] = str(tmp_path / "servers.state")
    path = tmp_path / "haproxy.cfg"
    path.write_text(render_haproxy(dataclasses.replace(spec(**options), runtime_socket=str(tmp_path / "h.sock"))))
    output = check_config(haproxy_binary, path)
    assert "Configuration file is valid" in output
    assert "WARNING" not in output and "ALERT" not in output, output


def test_the_operations_guide_shows_the_config_as_rendered():
    example = BalancerSpec(servers=[Server("app1", "192.0.2.11", 8000), Server("app2", "192.0.2.12", 8000)],
                           runtime_socket="/run/haproxy/admin.sock", bind_host="0.0.0.0", http_port=80,  # noqa: S104
                           https_port=443, tls_certificate="/etc/haproxy/strongbox.pem",
                           health_check_host="docs.example.com", server_state_file="/var/lib/haproxy/servers.state")
    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert f"```haproxy\n{render_haproxy(example)}```" in guide
