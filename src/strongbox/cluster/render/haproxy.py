"""haproxy.cfg from a BalancerSpec: one frontend for the users, one backend of app servers, one admin frontend on
loopback. Every choice is explained in docs/operations.md ("Load balancer").

How servers come and go (`scale`, autoscaling): by `add server` / `del server` on the runtime API, not by
`server-template` slots. The cluster's app servers get a free port when they start, which a slot rendered in
advance cannot know (a slot would need `set server addr` and the state file to keep it across a reload); a server
added at run time gets exactly the rendered servers' options (`server_options`: checks, slowstart); the maximum
can change while the cluster runs, without a reload. It needs a dynamic balancing method: every method in
spec.BALANCE_METHODS is one (`source` through `hash-type consistent`; a map-based hash is static). A reload renders
the servers there are now as `server` lines. The exception is `sticky`: HAProxy 2.6 gives a server added at run
time no cookie, so a sticky cluster scales by rendering and reloading."""

from strongbox.cluster.spec import BalancerSpec

FRONTEND = "www"
BACKEND = "app"
ADMIN = "admin"
STICKY_COOKIE = "SERVERID"

# HAProxy's HTTP log format with the request id first, so one grep finds a request in the balancer's log and in
# the app server's. %rc counts retries: a retried GET shows here even though its client saw a 200.
LOG_FORMAT = ("%ID %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc "
              "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r")
# Mozilla's "intermediate" profile: TLS 1.2 with forward-secret AEAD ciphers only (no DHE, so no DH parameters).
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
TLS13_CIPHERSUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"


def _duration(milliseconds: int) -> str:
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _global(spec: BalancerSpec) -> list[str]:
    lines = [
        "global",
        f"    log {spec.log_target} info",
        f"    maxconn {spec.maxconn}",
        # The runtime API: drain, disable and add servers, read their state (strongbox.cluster.runtime).
        # expose-fd lets a reload take over the listening sockets without refusing a connection.
        f"    stats socket {spec.runtime_socket} mode 600 level admin expose-fd listeners",
        "    stats timeout 30s",
        # After a reload or soft stop the old process finishes its requests, but for this long at most.
        f"    hard-stop-after {_duration(spec.hard_stop_after)}",
    ]
    if spec.server_state_file:
        lines.append(f"    server-state-file {spec.server_state_file}")
    if spec.tls:
        lines += [f"    ssl-default-bind-ciphers {TLS12_CIPHERS}",
                  f"    ssl-default-bind-ciphersuites {TLS13_CIPHERSUITES}",
                  "    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets"]
    return lines


def _defaults(spec: BalancerSpec) -> list[str]:
    timeouts = spec.timeouts
    # A reload starts a new process: it takes each server's state (drain, maint, down) and weight from the file
    # the command saved just before, instead of sending requests to a server it was draining.
    state = ["    load-server-state-from-file global"] if spec.server_state_file else []
    return [
        "defaults app-traffic",
        "    mode http",
        "    log global",
        f'    log-format "{LOG_FORMAT}"',
        "    option dontlognull",
        # Retry a request whose server refused the connection, closed it without answering, or did not answer in
        # time; redispatch each retry to another server, twice at most. The backend keeps the last two (which a
        # server may have started to run) for GET and HEAD.
        "    retries 2",
        "    retry-on conn-failure empty-response response-timeout",
        "    option redispatch 1",
        f"    timeout connect {_duration(timeouts.connect)}",
        f"    timeout client {_duration(timeouts.client)}",
        f"    timeout server {_duration(timeouts.server)}",
        f"    timeout http-request {_duration(timeouts.http_request)}",
        f"    timeout http-keep-alive {_duration(timeouts.http_keep_alive)}",
        f"    timeout queue {_duration(timeouts.queue)}",
        f"    timeout check {_duration(timeouts.check)}",
        *state,
    ]


def _frontend(spec: BalancerSpec) -> list[str]:
    lines = [f"frontend {FRONTEND}", f"    bind {_address(spec.bind_host, spec.http_port)}"]
    if spec.tls:
        lines.append(f"    bind {_address(spec.bind_host, spec.https_port)} ssl crt {spec.tls_certificate} "
                     "alpn h2,http/1.1")
        # Keep the host name the user typed, swap the port for the HTTPS one.
        target = ("https://%[req.hdr(host),regsub(:[0-9]+$,)]" + ("" if spec.https_port == 443 else
                                                                  f":{spec.https_port}") + "%[capture.req.uri]")
        lines.append(f"    http-request redirect location {target} code 301 unless {{ ssl_fc }}")
    lines += [
        "    unique-id-format %[uuid()]",
        # The app servers believe these headers from the balancer only (STRONGBOX_TRUSTED_PROXIES): replace
        # whatever the client sent with what the balancer saw.
        "    option forwardfor",
        "    http-request del-header X-Forwarded-For",
        "    http-request set-header X-Forwarded-Proto https if { ssl_fc }",
        "    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
        "    http-request set-header X-Request-ID %[unique-id]",
        # Also on the balancer's own answers (503 with no server up, 504), which never reach an app server.
        "    http-after-response set-header X-Request-ID %[unique-id]",
        f"    default_backend {BACKEND}",
    ]
    return lines


def server_options(spec: BalancerSpec) -> str:
    """The health check and ramp-up of every server (also for servers added later through the runtime API,
    which `default-server` does not reach)."""
    # After one failed (or, when down, passed) check, the next comes after half a second: a dead server is out
    # within about 1.5 s, a restarted one back within about 1 s.
    options = "check inter 1s fastinter 500ms fall 2 rise 2"
    if spec.slowstart:
        options += f" slowstart {_duration(spec.slowstart)}"
    if spec.server_maxconn:
        options += f" maxconn {spec.server_maxconn}"
    return options


def _backend(spec: BalancerSpec) -> list[str]:
    lines = [f"backend {BACKEND}", f"    balance {spec.balance}"]
    if spec.balance == "source":
        # Adding or removing a server moves only the clients that hashed to it, not everyone; and a consistent
        # hash is dynamic, so `add server` works on it (a map-based one refuses).
        lines.append("    hash-type consistent")
    lines += [
        # A server is in rotation while /readyz answers 200: it says 503 as soon as the server starts shutting
        # down, so the balancer stops sending it requests before it stops (fall 2: two misses, about 2 s).
        "    option httpchk GET /readyz",
        f"    http-check send hdr Host {spec.health_check_host}"
        + (" hdr X-Forwarded-Proto https" if spec.tls else ""),
        "    http-check expect status 200",
        # A POST that timed out may still be running on its server: replaying it elsewhere would run it twice.
        "    http-request disable-l7-retry unless METH_GET || METH_HEAD",
    ]
    if spec.sticky:
        lines.append(f"    cookie {STICKY_COOKIE} insert indirect nocache httponly" + (" secure" if spec.tls else ""))
    lines.append(f"    default-server {server_options(spec)}")
    for server in spec.servers:
        lines.append(f"    server {server.name} {server.address}" + (f" cookie {server.name}" if spec.sticky else ""))
    return lines


def _admin(spec: BalancerSpec) -> list[str]:
    # Defaults of its own: no retries or request ids, and no log line for every scrape of the metrics.
    return [
        "defaults admin-traffic",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 10s",
        "    timeout server 10s",
        "",
        f"frontend {ADMIN}",
        f"    bind {_address(spec.admin_host, spec.admin_port)}",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    stats enable",
        "    stats uri /",
        "    stats refresh 5s",
        "    stats show-legends",
    ]


def render_haproxy(spec: BalancerSpec) -> str:
    """Return haproxy.cfg for `spec`."""
    sections = [_global(spec), _defaults(spec), _frontend(spec), _backend(spec), _admin(spec)]
    return "# Written by strongbox cluster from its spec; changes here are lost.\n\n" + "\n\n".join(
        "\n".join(section) for section in sections) + "\n"
