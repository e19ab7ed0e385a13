import functools
import os
import signal
import subprocess  # noqa: S404  # starts our own app server and worker, fixed argument lists  # nosec B404
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from strongbox.lib.env import env_int
from strongbox.ops.appserver import die_with_parent


def server_command(host: str, port: int, workers: int, threads: int, tls: tuple[str, str] | None = None) -> list[str]:
    """Return the app server's command line: granian serving the WSGI app (chosen by bench/servers.py, see
    docs/operations.md), worker processes restarted if they crash, and HTTPS when given a certificate and its
    (PKCS#8) key. Strongbox writes the access log itself (ops/requestid.py): granian's would show the balancer's
    address and not the request id. On SIGTERM granian stops accepting, lets its workers finish the requests they
    have, and kills a worker that has not within the kill timeout."""
    command = [
        sys.executable, "-m", "strongbox.ops.appserver", "--interface", "wsgi", "strongbox.wsgi:application",
        "--host", host, "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads),
        "--no-ws", "--respawn-failed-workers", "--workers-kill-timeout", "20",
    ]
    if tls:
        command += ["--ssl-certificate", tls[0], "--ssl-keyfile", tls[1], "--ssl-protocol-min", "tls1.2"]
    return command


def worker_command() -> list[str]:
    return [sys.executable, "-m", "strongbox", "worker"]


def child_environment(environ: dict[str, str], host: str, port: int, tls: bool) -> dict[str, str]:
    """Return the children's environment: unless the operator named the site's address (production must), the
    links in mails point where this command serves, whatever port it was given."""
    if environ.get("STRONGBOX_SITE_URL"):
        return dict(environ)
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104  # nosec B104 - a name for links, no bind
    shown = f"[{shown}]" if ":" in shown else shown
    return {**environ, "STRONGBOX_SITE_URL": f"{'https' if tls else 'http'}://{shown}:{port}"}


KILL_TIMEOUT = 25  # granian's --workers-kill-timeout and a margin


def start_child(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a child in a process group of its own (a signal to serve's group reaches serve alone, which stops
    the children in order), killed by the kernel should serve die (ops/appserver.py)."""
    # serve starts its children before any thread of its own, so preexec_fn is safe here.
    return subprocess.Popen(command, env=env, process_group=0,  # noqa: S603  # nosec B603 - fixed argument lists
                            preexec_fn=functools.partial(die_with_parent, os.getpid()))


def stop_child(child: subprocess.Popen, timeout: float) -> None:
    """Wait up to `timeout` seconds for a child asked to stop, then kill its whole process group."""
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


class Command(BaseCommand):
    help = "Serve Strongbox with granian and run the task worker beside it, until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("STRONGBOX_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("STRONGBOX_PORT", 8000, minimum=1))
        parser.add_argument("--workers", type=int, default=env_int("STRONGBOX_WEB_WORKERS", 2, minimum=1))
        parser.add_argument("--threads", type=int, default=env_int("STRONGBOX_WEB_THREADS", 4, minimum=1))
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only; run workers elsewhere.")
        parser.add_argument("--tls-certificate", default=os.environ.get("STRONGBOX_TLS_CERTIFICATE"),
                            help="Serve HTTPS with this PEM certificate (chain) instead of plain HTTP.")
        parser.add_argument("--tls-key", default=os.environ.get("STRONGBOX_TLS_KEY"),
                            help="The certificate's private key, PEM in PKCS#8 form.")

    def handle(self, *args, host, port, workers, threads, no_worker, tls_certificate, tls_key, **options):
        if bool(tls_certificate) != bool(tls_key):
            raise CommandError("Give both --tls-certificate and --tls-key, or neither.")
        tls = (tls_certificate, tls_key) if tls_certificate else None
        commands = {"app server": server_command(host, port, workers, threads, tls)}
        if not no_worker:
            commands["task worker"] = worker_command()
        signals: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, frame: signals.append(signum))
        signal.signal(signal.SIGINT, lambda signum, frame: signals.append(signum))
        with tempfile.TemporaryDirectory(prefix="strongbox-serve-") as run_dir:
            drain_file = Path(run_dir) / "draining"
            env = {**child_environment(dict(os.environ), host, port, tls is not None),
                   "STRONGBOX_DRAIN_FILE": str(drain_file)}
            children = {name: start_child(command, env) for name, command in commands.items()}
            self.stdout.write(f"Strongbox is serving on {'https' if tls else 'http'}://{host}:{port}/ "
                              "(Ctrl-C to stop).")
            self.stdout.flush()
            # Supervise: when either child dies, or we are asked to stop, stop the other one too.
            while not signals and all(child.poll() is None for child in children.values()):
                time.sleep(0.1)
            failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
            if signals:
                self._drain(drain_file, children, signals)
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                stop_child(child, KILL_TIMEOUT)
        if failed and not signals:
            raise CommandError(f"The {' and the '.join(failed)} stopped unexpectedly; see the log above.")

    def _drain(self, drain_file: Path, children: dict[str, subprocess.Popen], signals: list[int]) -> None:
        """Make /readyz answer 503 and, on SIGTERM, keep serving for STRONGBOX_DRAIN_SECONDS, so a balancer
        takes this server out before it stops taking requests. The task worker stops at once. Ctrl-C (SIGINT),
        or a second signal, ends the wait."""
        drain_file.touch()
        worker = children.get("task worker")
        if worker is not None and worker.poll() is None:
            worker.terminate()
        if signals[0] != signal.SIGTERM or not settings.DRAIN_SECONDS:
            return
        self.stdout.write(f"Draining: /readyz answers 503; stopping in {settings.DRAIN_SECONDS} s.")
        self.stdout.flush()
        deadline, seen = time.monotonic() + settings.DRAIN_SECONDS, len(signals)
        while time.monotonic() < deadline and len(signals) == seen and children["app server"].poll() is None:
            time.sleep(0.1)
