"""What the balancer runs: frozen specs, checked on creation, that the renderers turn into configuration text."""

import re
from dataclasses import dataclass, field

from strongbox.cluster.autoscale import Policy

BALANCE_METHODS = ("roundrobin", "leastconn", "random", "source")
# HAProxy identifiers (proxy, server and cookie names) may hold letters, digits and '-', '_', '.', ':'; keep to a
# subset that also reads well on the runtime API's command line.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HOST = re.compile(r"[A-Za-z0-9_.:-]+")


def _check_port(what: str, port: int) -> None:
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"{what} must be a port number from 1 to 65535, not {port!r}")


def _check_text(what: str, value: str) -> None:
    # One line of configuration each: a newline, quote or '#' would end or rewrite the directive.
    if not value or any(character in value for character in "\n\r\"'#\\ \t"):
        raise ValueError(f"{what} must be one word without quotes, '#' or backslashes, not {value!r}")


@dataclass(frozen=True)
class Server:
    """One app server behind the balancer."""

    name: str
    host: str
    port: int

    def __post_init__(self):
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"server name {self.name!r} must be letters, digits, '-', '_' or '.' (at most 64)")
        if not _HOST.fullmatch(self.host):
            raise ValueError(f"server {self.name}: {self.host!r} is not a host name or IP address")
        _check_port(f"server {self.name}'s port", self.port)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Timeouts:
    """HAProxy's timeouts, in milliseconds."""

    connect: int = 2_000  # a loopback or LAN connect that takes longer is a dead server: retry elsewhere
    client: int = 60_000  # inactivity of the client (slow uploads on poor links still move within a minute)
    server: int = 60_000  # inactivity of the server; for a GET also the point where it is retried elsewhere
    http_request: int = 10_000  # the whole request head (headers): slow-header clients are cut off
    http_keep_alive: int = 10_000  # an idle client connection between two requests
    queue: int = 10_000  # waiting for a free server slot when every server is at maxconn
    check: int = 2_000  # a health check's answer: /readyz touches the database and storage, allow for a busy box

    def __post_init__(self):
        for name, value in vars(self).items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"timeout {name} must be a positive number of milliseconds, not {value!r}")


@dataclass(frozen=True)
class BalancerSpec:
    """HAProxy in front of app servers: how it balances, where it listens, and where its controls are.

    `tls_certificate` is a PEM file holding the certificate (chain) and its private key, as HAProxy reads it; with
    it the balancer serves HTTPS on `https_port` and redirects plain HTTP on `http_port` there."""

    servers: tuple[Server, ...]
    runtime_socket: str
    balance: str = "roundrobin"
    sticky: bool = False
    tls_certificate: str | None = None
    bind_host: str = "127.0.0.1"
    http_port: int = 8080
    https_port: int = 8443
    admin_host: str = "127.0.0.1"
    admin_port: int = 8404
    health_check_host: str = "localhost"  # a name the app servers accept (STRONGBOX_ALLOWED_HOSTS)
    timeouts: Timeouts = field(default_factory=Timeouts)
    maxconn: int = 4_000
    server_maxconn: int = 0  # per app server; 0 leaves it unlimited (granian queues itself)
    slowstart: int = 10_000  # milliseconds over which a server that came back up ramps up to its full weight
    hard_stop_after: int = 30_000  # milliseconds an old process may keep finishing requests after a reload/stop
    log_target: str = "stdout format raw local0"
    # Where the command saves `show servers state` before a reload, so drained or disabled servers stay so.
    server_state_file: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "servers", tuple(self.servers))
        if not self.servers:
            raise ValueError("the balancer needs at least one server")
        names = [server.name for server in self.servers]
        if len(set(names)) != len(names):
            raise ValueError(f"server names must differ: {names}")
        if self.balance not in BALANCE_METHODS:
            raise ValueError(f"balance must be one of {', '.join(BALANCE_METHODS)}, not {self.balance!r}")
        for what in ("runtime_socket", "bind_host", "admin_host", "health_check_host"):
            _check_text(what, getattr(self, what))
        if "\n" in self.log_target or "\r" in self.log_target:
            raise ValueError("log_target must be one line")
        for what in ("tls_certificate", "server_state_file"):
            if getattr(self, what) is not None:
                _check_text(what, getattr(self, what))
        for what in ("http_port", "https_port", "admin_port"):
            _check_port(what, getattr(self, what))
        ports = [self.http_port, self.admin_port] + ([self.https_port] if self.tls else [])
        if len(set(ports)) != len(ports):
            raise ValueError(f"the balancer's ports must differ: {ports}")
        for what in ("maxconn", "server_maxconn", "slowstart", "hard_stop_after"):
            value = getattr(self, what)
            if not isinstance(value, int) or value < (1 if what == "maxconn" else 0):
                raise ValueError(f"{what} must be a whole number (at least 1 for maxconn), not {value!r}")

    @property
    def tls(self) -> bool:
        return self.tls_certificate is not None


# Where sessions live: "local" is a store of each app server's own (files in its directory), which only works
# with --sticky; the others are shared by every server (Django's session engines on PostgreSQL and Redis).
SESSION_STORES = ("local", "db", "cache", "cached_db", "signed_cookies")


@dataclass(frozen=True)
class ClusterSpec:
    """What `strongbox cluster up` runs on this machine: PostgreSQL primary + one streaming replica, Redis,
    `servers` app servers and `workers` task workers, and HAProxy in front on `port` (plain HTTP, which
    redirects to `https_port` with `tls`)."""

    servers: int = 2
    workers: int = 1
    balance: str = "roundrobin"
    sticky: bool = False
    sessions: str = "cached_db"
    tls: bool = False
    port: int = 8080
    https_port: int = 8443
    web_workers: int = 2  # granian worker processes per app server
    threads: int = 4  # threads per granian worker
    autoscale: Policy | None = None  # add and remove app servers with the load, within its range (autoscale.py)

    def __post_init__(self):
        for what, least in (("servers", 1), ("workers", 0), ("web_workers", 1), ("threads", 1)):
            value = getattr(self, what)
            if not isinstance(value, int) or not least <= value <= 64:
                raise ValueError(f"{what} must be a whole number from {least} to 64, not {value!r}")
        if self.balance not in BALANCE_METHODS:
            raise ValueError(f"balance must be one of {', '.join(BALANCE_METHODS)}, not {self.balance!r}")
        if self.sessions not in SESSION_STORES:
            raise ValueError(f"sessions must be one of {', '.join(SESSION_STORES)}, not {self.sessions!r}")
        _check_port("port", self.port)
        _check_port("https_port", self.https_port)
        if self.tls and self.port == self.https_port:
            raise ValueError("the HTTP and HTTPS ports must differ")
        if self.autoscale is not None and not self.autoscale.minimum <= self.servers <= self.autoscale.maximum:
            raise ValueError(f"servers ({self.servers}) must be within the autoscale range {self.autoscale.range}")
