"""`strongbox cluster up|status|kill|stop|start|scale|reload|destroy`: what the management command calls."""

import datetime
import fcntl
import hashlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import sys
from pathlib import Path

from strongbox.cluster import control, status
from strongbox.cluster.plan import LOOPBACK, Layout, Ports, site_url
from strongbox.cluster.spec import ClusterSpec
from strongbox.cluster.supervisor import ClusterError, Supervisor, free_port, write_state

# Run as root, PostgreSQL's data goes where its own user may write, one directory per cluster.
ROOT_POSTGRES_DIR = Path("/var/lib/postgresql/strongbox-cluster")


def find_binary(name: str, package: str) -> str:
    found = shutil.which(name) or next((str(path) for path in (Path("/usr/sbin") / name, Path("/sbin") / name)
                                        if path.exists()), None)
    if found is None:
        raise ClusterError(f"{name} is not installed: install Debian's {package} package (`make cluster` does)")
    return found


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parent.parent.name))
    if not found:
        raise ClusterError("PostgreSQL is not installed: install Debian's postgresql package (`make cluster` does)")
    return found[-1].parent


def root_postgres_dir(root: Path) -> Path:
    """Where a cluster run as root keeps PostgreSQL's data: one directory per cluster directory."""
    return ROOT_POSTGRES_DIR / hashlib.sha256(str(root).encode()).hexdigest()[:12]


def layout_for(root: Path) -> Layout:
    if os.geteuid() == 0:
        postgres, user = root_postgres_dir(root), "postgres"
    else:
        postgres, user = root / "postgres", None
    return Layout(root=root, postgres=postgres, python=sys.executable, postgres_bin=postgres_bin(),
                  haproxy=find_binary("haproxy", "haproxy"), redis=find_binary("redis-server", "redis-server"),
                  postgres_user=user)


def _lock(root: Path):
    handle = (root / ".lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ClusterError(f"a cluster is running in {root} already (`strongbox cluster status --dir {root}`)") \
            from None
    return handle


def _check_port_free(port: int, option: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            raise ClusterError(f"port {port} is in use on {LOOPBACK}: choose another with {option}") from None


def _secret_file(path: Path, make) -> None:
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)


def _self_signed_certificate() -> str:
    """A certificate for localhost and 127.0.0.1 with its key, one PEM as HAProxy reads it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=365))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                               x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())).decode()


def prepare(layout: Layout, spec: ClusterSpec) -> None:
    from cryptography.fernet import Fernet

    _secret_file(layout.secret_key, lambda: secrets.token_urlsafe(64))
    _secret_file(layout.totp_keys, lambda: Fernet.generate_key().decode())
    if spec.tls:
        layout.haproxy_dir.mkdir(parents=True, exist_ok=True)
        _secret_file(layout.certificate, _self_signed_certificate)
    if layout.postgres_user and not (layout.root / "postgres").exists():
        (layout.root / "postgres").symlink_to(layout.postgres)


def up(root: Path, spec: ClusterSpec, say) -> None:
    """Start the cluster in `root` and supervise it until SIGTERM or SIGINT; then stop everything."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = _lock(root)
    layout = layout_for(root)
    _check_port_free(spec.port, "--port")
    if spec.tls:
        _check_port_free(spec.https_port, "--https-port")
    prepare(layout, spec)
    ports = Ports(http=spec.port, https=spec.https_port, admin=free_port(), primary=free_port(),
                  replica=free_port(), redis=free_port(), apps=tuple(free_port() for _ in range(spec.servers)))
    supervisor = Supervisor(spec, layout, ports, dict(os.environ), say=say)
    signals: list[int] = []

    def on_signal(signum, frame):
        signals.append(signum)
        supervisor.stopping.set()
        if len(signals) > 1:  # a second Ctrl-C: no more waiting
            for process in supervisor.processes.values():
                if process.pid is not None:
                    os.killpg(process.pid, signal.SIGKILL)

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
    server = None
    try:
        supervisor.up()
        server = control.serve(supervisor, layout.control_socket)
        write_state(layout, {"pid": os.getpid(), "url": site_url(spec) + "/", "control_socket":
                             str(layout.control_socket)})
        say(f"Strongbox cluster is up: {site_url(spec)}/ ({spec.servers} app servers behind HAProxy; "
            f"`strongbox cluster status --dir {root}`; Ctrl-C stops it)")
        say(f"Create an account with `strongbox cluster manage --dir {root} createuser --username YOU --email "
            "YOU@example.com`" + (f"; the certificate to trust is {layout.certificate}" if spec.tls else ""))
        supervisor.serve_forever()
        say("Stopping the cluster…")
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        layout.control_socket.unlink(missing_ok=True)
        (root / "cluster.json").unlink(missing_ok=True)
        supervisor.shutdown()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        lock.close()
    say("The cluster has stopped.")


def call(root: Path, request: dict, timeout: float = 300):
    return control.call(root / "control.sock", request, timeout)


def show_status(root: Path, as_json: bool) -> str:
    import json

    document = call(root, {"op": "status"})
    return json.dumps(document, indent=2) if as_json else status.table(document)


def destroy(root: Path) -> str:
    """Delete a stopped cluster's directory and its PostgreSQL data."""
    if not root.exists():
        raise ClusterError(f"there is no cluster in {root}")
    lock = _lock(root)
    try:
        if os.geteuid() == 0:
            shutil.rmtree(root_postgres_dir(root), ignore_errors=True)
        shutil.rmtree(root)
    finally:
        lock.close()
    return f"deleted {root}"
