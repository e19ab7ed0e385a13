import os
import signal
import subprocess  # noqa: S404  # starts our own app server and worker, fixed argument lists  # nosec B404
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from strongbox.lib.env import env_int


def server_command(host: str, port: int, workers: int, threads: int, tls: tuple[str, str] | None = None) -> list[str]:
    """Return the app server's command line: granian serving the WSGI app (chosen by bench/servers.py, see
    docs/operations.md), worker processes restarted if they crash, access log on stdout, and HTTPS when given
    a certificate and its (PKCS#8) key."""
    command = [
        sys.executable, "-m", "granian", "--interface", "wsgi", "strongbox.wsgi:application",
        "--host", host, "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads),
        "--no-ws", "--access-log", "--respawn-failed-workers", "--workers-kill-timeout", "20",
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
        # Fixed argument lists built above, no shell.
        env = child_environment(dict(os.environ), host, port, tls is not None)
        children = {name: subprocess.Popen(command, env=env)  # noqa: S603  # nosec B603
                    for name, command in commands.items()}
        self.stdout.write(f"Strongbox is serving on {'https' if tls else 'http'}://{host}:{port}/ (Ctrl-C to stop).")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Supervise: when either child dies, or we are asked to stop, stop the other one too.
        while not stopping and all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=25)
            except subprocess.TimeoutExpired:
                child.kill()
        if failed and not stopping:
            raise CommandError(f"The {' and the '.join(failed)} stopped unexpectedly; see the log above.")
