"""What `strongbox cluster up` does, in order, as data: one-shot steps, files to write, and the processes to keep
running. Pure functions of the spec and the layout; the supervisor (supervisor.py) carries the plan out."""

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from strongbox.cluster.render.haproxy import render_haproxy
from strongbox.cluster.render.services import render_postgresql_conf, render_redis_conf
from strongbox.cluster.runtime import EMPTY_SERVER_STATE
from strongbox.cluster.spec import BalancerSpec, ClusterSpec, Server

DATABASE = "strongbox"
STATIC_SOURCES = Path(__file__).resolve().parents[3] / "static"  # the project's static/ (settings.STATICFILES_DIRS)
LOOPBACK = "127.0.0.1"
# Strongbox's own variables that would point the cluster's processes somewhere else if inherited from the shell.
FOREIGN_VARIABLES = ("DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "STRONGBOX_STORAGE", "STRONGBOX_DATA_DIR",
                     "STRONGBOX_SITE_URL", "STRONGBOX_SECRET_KEY", "STRONGBOX_TOTP_KEYS", "STRONGBOX_TOTP_KEYS_FILE",
                     "STRONGBOX_SECRET_KEY_FILE", "STRONGBOX_DRAIN_FILE",
                     "STRONGBOX_SESSION_STORE", "STRONGBOX_SESSION_DIR", "STRONGBOX_ALLOWED_HOSTS",
                     "STRONGBOX_TRUSTED_PROXIES", "STRONGBOX_CSRF_TRUSTED_ORIGINS")


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one run: the balancer's given, the rest free ones the command found."""

    http: int
    https: int
    admin: int
    primary: int
    replica: int
    redis: int
    apps: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """Where one cluster keeps everything. `postgres` is separate because PostgreSQL refuses to run as root:
    run as root, its data lives where the `postgres` user may go (/var/lib/postgresql)."""

    root: Path
    postgres: Path
    python: str  # the interpreter that runs Strongbox
    postgres_bin: Path
    haproxy: str
    redis: str
    postgres_user: str | None = None  # run PostgreSQL as this user (when the command runs as root)

    @property
    def control_socket(self) -> Path:
        return self.root / "control.sock"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def haproxy_dir(self) -> Path:
        return self.root / "haproxy"

    @property
    def certificate(self) -> Path:
        return self.haproxy_dir / "balancer.pem"

    @property
    def secret_key(self) -> Path:
        return self.root / "secrets" / "secret_key"

    @property
    def totp_keys(self) -> Path:
        return self.root / "secrets" / "totp_keys"


@dataclass(frozen=True)
class Step:
    """A command run once, to completion; skipped when `creates` exists already (a second `up` keeps the data)."""

    name: str
    command: tuple[str, ...]
    creates: Path | None = None
    # With `creates`: run again when a file under this directory is newer than what the step created.
    sources: Path | None = None
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stdin: str | None = None


@dataclass(frozen=True)
class File:
    path: Path
    text: str
    mode: int = 0o600
    user: str | None = None


@dataclass(frozen=True)
class Component:
    """A process the supervisor keeps running: started, probed until ready, restarted if it dies unasked."""

    name: str
    role: str  # postgres-primary, postgres-replica, redis, app, worker, balancer
    command: tuple[str, ...]
    port: int | None = None
    # tcp: the port accepts; postgres: a query answers; http: GET /readyz is 200; balancer: its runtime API answers
    probe: str = "tcp"
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 30

    @property
    def address(self) -> str | None:
        return f"{LOOPBACK}:{self.port}" if self.port else None


def site_url(spec: ClusterSpec) -> str:
    return f"https://localhost:{spec.https_port}" if spec.tls else f"http://{LOOPBACK}:{spec.port}"


def balancer_spec(spec: ClusterSpec, layout: Layout, ports: Ports, app_ports: dict[str, int]) -> BalancerSpec:
    return BalancerSpec(
        servers=tuple(Server(name, LOOPBACK, port) for name, port in app_ports.items()),
        runtime_socket=str(layout.haproxy_dir / "admin.sock"), balance=spec.balance, sticky=spec.sticky,
        tls_certificate=str(layout.certificate) if spec.tls else None, http_port=ports.http,
        https_port=ports.https, admin_port=ports.admin, server_state_file=str(layout.haproxy_dir / "state"))


def cluster_variables(spec: ClusterSpec, layout: Layout, ports: Ports) -> dict[str, str]:
    """The variables that point a Strongbox process at this cluster (`strongbox cluster manage` uses them too)."""
    variables = {
        "DJANGO_SETTINGS_MODULE": "strongbox.settings",
        "DATABASE_URL": f"postgres://postgres@{LOOPBACK}:{ports.primary}/{DATABASE}",
        "DATABASE_REPLICA_URLS": f"postgres://postgres@{LOOPBACK}:{ports.replica}/{DATABASE}",
        "REDIS_URL": f"redis://{LOOPBACK}:{ports.redis}/0",
        "STRONGBOX_STORAGE": "local",  # one machine: every process reaches the same directory
        "STRONGBOX_DATA_DIR": str(layout.data),
        "STRONGBOX_SECRET_KEY_FILE": str(layout.secret_key),
        "STRONGBOX_TOTP_KEYS_FILE": str(layout.totp_keys),
        "STRONGBOX_SITE_URL": site_url(spec),
        "STRONGBOX_ALLOWED_HOSTS": f"{LOOPBACK},localhost",
        # X-Forwarded-For and -Proto are believed from the balancer only: everything else is loopback too, so the
        # cluster trusts loopback; on several machines this names the balancers' addresses (docs/operations.md).
        "STRONGBOX_TRUSTED_PROXIES": f"{LOOPBACK}/32",
        "STRONGBOX_SESSION_STORE": "file" if spec.sessions == "local" else spec.sessions,
    }
    if spec.tls:
        variables["STRONGBOX_ENV"] = "production"
    return variables


def app_environment(spec: ClusterSpec, layout: Layout, ports: Ports, base: dict[str, str]) -> dict[str, str]:
    """The environment of every Strongbox process of the cluster (app servers, workers, migrate)."""
    env = {name: value for name, value in base.items()
           if name not in FOREIGN_VARIABLES and not name.startswith("STRONGBOX_S3_")}
    if env.get("STRONGBOX_ENV") == "production":
        env["STRONGBOX_ENV"] = "development"  # production needs HTTPS: that is --tls
    return {**env, **cluster_variables(spec, layout, ports)}


def code_environment(env: dict[str, str], code: Path | None) -> dict[str, str]:
    """Run Strongbox from the checkout `code` (None: the one the cluster was started from): its src/ first on the
    path, so its modules, templates and static files are the ones loaded (cluster/release.py)."""
    if code is None:
        return env
    path = os.pathsep.join(filter(None, [str(code / "src"), env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path, "STRONGBOX_CODE": str(code)}


def app_server(spec: ClusterSpec, layout: Layout, ports: Ports, base: dict[str, str], name: str,
               port: int, code: Path | None = None) -> Component:
    env = code_environment(app_environment(spec, layout, ports, base), code)
    env["STRONGBOX_SESSION_DIR"] = str(layout.root / "apps" / name / "sessions")
    command = (layout.python, "-m", "strongbox", "serve", "--no-worker", "--host", LOOPBACK, "--port", str(port),
               "--workers", str(spec.web_workers), "--threads", str(spec.threads))
    return Component(name, "app", command, port=port, probe="http", env=env, stop_timeout=45)


def task_worker(spec: ClusterSpec, layout: Layout, ports: Ports, base: dict[str, str], name: str,
                code: Path | None = None) -> Component:
    return Component(name, "worker", (layout.python, "-m", "strongbox", "worker"),
                     env=code_environment(app_environment(spec, layout, ports, base), code), stop_timeout=45)


def code_steps(spec: ClusterSpec, layout: Layout, ports: Ports, base: dict[str, str], code: Path | None) -> list:
    """Before a release starts servers of `code`: its migrations (which must keep the running code working:
    expand now, contract in a later release) and its static files, beside the running code's."""
    env = code_environment(app_environment(spec, layout, ports, base), code)
    return [Step("migrate", (layout.python, "-m", "strongbox", "migrate", "--noinput", "-v", "0"), env=env),
            Step("collectstatic", (layout.python, "-m", "strongbox", "collectstatic", "--noinput", "-v", "0"),
                 env=env)]


def balancer(layout: Layout, ports: Ports, balancer_config: Path) -> Component:
    # -W: a master process that reloads on SIGUSR2 and hands the listening sockets to the new worker.
    return Component("haproxy", "balancer", (layout.haproxy, "-W", "-db", "-f", str(balancer_config)),
                     port=ports.http, probe="balancer",
                     stop_signal=signal.SIGUSR1, stop_timeout=35)  # SIGUSR1: soft stop, in-flight requests finish


def _postgres(layout: Layout, name: str, role: str, directory: Path, port: int) -> Component:
    # SIGINT is PostgreSQL's fast shutdown: sessions are cut, the checkpoint is written.
    return Component(name, role, (str(layout.postgres_bin / "postgres"), "-D", str(directory)), port=port,
                     probe="postgres", user=layout.postgres_user, stop_signal=signal.SIGINT, stop_timeout=60)


def build(spec: ClusterSpec, layout: Layout, ports: Ports, base: dict[str, str]) -> list:
    """Return what `up` does, in order: Steps, Files and Components."""
    pg, user = layout.postgres_bin, layout.postgres_user
    primary, replica = layout.postgres / "primary", layout.postgres / "replica"
    app_env = app_environment(spec, layout, ports, base)
    apps = {f"app{number}": port for number, port in enumerate(ports.apps, start=1)}
    haproxy_config = layout.haproxy_dir / "haproxy.cfg"
    socket_dir = str(layout.postgres)
    # psql runs the CREATE only when the database is missing (\gexec runs each result as a statement).
    create_database = ("SELECT 'CREATE DATABASE strongbox' WHERE NOT EXISTS "
                       "(SELECT FROM pg_database WHERE datname = 'strongbox')\\gexec\n")
    return [
        Step("initdb", (str(pg / "initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--locale=C.UTF-8"), creates=primary / "PG_VERSION", user=user),
        File(primary / "postgresql.conf", render_postgresql_conf(ports.primary, socket_dir, replica=False),
             user=user),
        _postgres(layout, "postgres-primary", "postgres-primary", primary, ports.primary),
        Step("create database", (str(pg / "psql"), "-h", LOOPBACK, "-p", str(ports.primary), "-U", "postgres",
                                 "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"), stdin=create_database),
        Step("base backup", (str(pg / "pg_basebackup"), "-h", LOOPBACK, "-p", str(ports.primary), "-U", "postgres",
                             "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast"),
             creates=replica / "PG_VERSION", user=user),
        File(replica / "postgresql.conf", render_postgresql_conf(ports.replica, socket_dir, replica=True),
             user=user),
        _postgres(layout, "postgres-replica", "postgres-replica", replica, ports.replica),
        File(layout.root / "redis" / "redis.conf", render_redis_conf(ports.redis, str(layout.root / "redis"))),
        Component("redis", "redis", (layout.redis, str(layout.root / "redis" / "redis.conf")), port=ports.redis),
        Step("migrate", (layout.python, "-m", "strongbox", "migrate", "--noinput", "-v", "0"), env=app_env),
        Step("collectstatic", (layout.python, "-m", "strongbox", "collectstatic", "--noinput", "-v", "0"),
             creates=Path(app_env.get("STRONGBOX_STATIC_ROOT", layout.data / "static")) / "staticfiles.json",
             sources=STATIC_SOURCES, env=app_env),
        *(app_server(spec, layout, ports, base, name, port) for name, port in apps.items()),
        *(task_worker(spec, layout, ports, base, f"worker{number}") for number in range(1, spec.workers + 1)),
        File(layout.haproxy_dir / "state", EMPTY_SERVER_STATE),
        File(haproxy_config, render_haproxy(balancer_spec(spec, layout, ports, apps))),
        balancer(layout, ports, haproxy_config),
    ]
