"""`strongbox serve`: granian serving the WSGI app and the task worker beside it, supervised until interrupted.

The supervising process imports no Django (cli.py dispatches here before Django loads): it only starts, watches
and stops its children, and a Django process would hold about 90 MB for that (issue 11; tests/ops/
test_serve_memory.py holds it to 20 MB). Before it starts them, a short-lived child loads the settings and runs
Django's system checks, as a management command would have: a configuration error stops `serve` with its message
before anything listens, and the keys the embedded default generates are written once, not raced for by every
worker (settings.py).
"""

import argparse
import contextlib
import functools
import json
import os
import signal
import subprocess  # noqa: S404  # starts our own app server and worker, fixed argument lists  # nosec B404
import sys
import tempfile
import time
from pathlib import Path

from strongbox.lib.env import env_choice, env_int
from strongbox.ops.appserver import die_with_parent

KILL_TIMEOUT = 25  # granian's --workers-kill-timeout and a margin


class ServeError(Exception):
    """A reason serve stops with a non-zero status; the message is for the operator."""


def drain_seconds() -> int:
    """How long, after SIGTERM, /readyz answers 503 before the app server stops, so a balancer checking it takes
    the server out first (HAProxy: more than fall x inter). Read here alone: serve has no settings to ask."""
    environment = env_choice("STRONGBOX_ENV", "development", ("development", "production", "test"))
    return env_int("STRONGBOX_DRAIN_SECONDS", 0 if environment == "test" else 3, minimum=0)


def server_command(host: str, port: int, workers: int, threads: int, tls: tuple[str, str] | None = None,
                   log_config: Path | None = None) -> list[str]:
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
    if log_config:
        command += ["--log-config", str(log_config)]
    return command


def worker_command() -> list[str]:
    return [sys.executable, "-m", "strongbox", "worker"]


def preflight_command(*, checks: bool) -> list[str]:
    """Load the settings and the apps in a child and, unless `checks` is off, run the system checks."""
    return [sys.executable, "-c", f"from strongbox.ops.serve import preflight; preflight(checks={checks})"]


def preflight(*, checks: bool) -> None:
    """The preflight child's work: what Django did in serve's own process when serve was a management command.
    Exits 1 with the message (no traceback) for a configuration error or a failed check; warnings are printed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongbox.settings")
    import django  # in the preflight child only
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.base import BaseCommand, CommandError

    try:
        django.setup()
        if checks:
            BaseCommand().check(display_num_errors=False)
    except (ImproperlyConfigured, CommandError) as error:
        sys.stderr.write(f"{error}\n")
        sys.exit(1)


def child_environment(environ: dict[str, str], host: str, port: int, tls: bool) -> dict[str, str]:
    """Return the children's environment: unless the operator named the site's address (production must), the
    links in mails point where this command serves, whatever port it was given."""
    if environ.get("STRONGBOX_SITE_URL"):
        return dict(environ)
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104  # nosec B104 - a name for links, no bind
    shown = f"[{shown}]" if ":" in shown else shown
    return {**environ, "STRONGBOX_SITE_URL": f"{'https' if tls else 'http'}://{shown}:{port}"}


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


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strongbox serve",
        description="Serve Strongbox with granian and run the task worker beside it, until interrupted.")
    parser.add_argument("--host", default=os.environ.get("STRONGBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env_int("STRONGBOX_PORT", 8000, minimum=1))
    parser.add_argument("--workers", type=int, default=env_int("STRONGBOX_WEB_WORKERS", 2, minimum=1))
    parser.add_argument("--threads", type=int, default=env_int("STRONGBOX_WEB_THREADS", 4, minimum=1))
    parser.add_argument("--no-worker", action="store_true", help="Serve pages only; run workers elsewhere.")
    parser.add_argument("--tls-certificate", default=os.environ.get("STRONGBOX_TLS_CERTIFICATE"),
                        help="Serve HTTPS with this PEM certificate (chain) instead of plain HTTP.")
    parser.add_argument("--tls-key", default=os.environ.get("STRONGBOX_TLS_KEY"),
                        help="The certificate's private key, PEM in PKCS#8 form.")
    # The options every management command took, when serve was one: the settings module and the import path
    # reach the children (and the preflight), the checks can be skipped; the rest change nothing serve prints.
    parser.add_argument("--settings", help="The settings module, e.g. strongbox.settings (DJANGO_SETTINGS_MODULE).")
    parser.add_argument("--pythonpath", help="A directory to add to the children's import path.")
    parser.add_argument("--skip-checks", action="store_true", help="Skip Django's system checks.")
    parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=1, help=argparse.SUPPRESS)
    for flag in ("--traceback", "--no-color", "--force-color"):
        parser.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str]) -> int:
    """Run `strongbox serve` with the arguments after `serve`; return the exit status."""
    with _configuration_errors():
        options = parser().parse_args(argv)
    return run(options)


def run(options: argparse.Namespace) -> int:
    """Run serve with parsed options (main's, or the management command's); return the exit status."""
    with _configuration_errors():
        drain = drain_seconds()
    if bool(options.tls_certificate) != bool(options.tls_key):
        return _fail("Give both --tls-certificate and --tls-key, or neither.")
    environ = dict(os.environ)
    if options.settings:
        environ["DJANGO_SETTINGS_MODULE"] = options.settings
    if options.pythonpath:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [options.pythonpath, environ.get("PYTHONPATH")]))
    environ.setdefault("DJANGO_SETTINGS_MODULE", "strongbox.settings")
    checked = subprocess.run(preflight_command(checks=not options.skip_checks), env=environ,  # noqa: S603  # nosec B603
                             check=False)
    if checked.returncode:
        return checked.returncode
    try:
        serve(options, environ, drain)
    except ServeError as error:
        return _fail(str(error))
    return 0


def serve(options: argparse.Namespace, environ: dict[str, str], drain: int) -> None:
    host, port = options.host, options.port
    tls = (options.tls_certificate, options.tls_key) if options.tls_certificate else None
    signals: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: signals.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: signals.append(signum))
    with tempfile.TemporaryDirectory(prefix="strongbox-serve-") as run_dir:
        log_config = None
        if _json_logs():
            log_config = Path(run_dir) / "granian-logging.json"
            from strongbox.ops.logformat import granian_log_config

            log_config.write_text(json.dumps(granian_log_config()))
        commands = {"app server": ("web", server_command(host, port, options.workers, options.threads, tls,
                                                         log_config))}
        if not options.no_worker:
            commands["task worker"] = ("worker", worker_command())
        drain_file = Path(run_dir) / "draining"
        env = {**child_environment(environ, host, port, tls is not None), "STRONGBOX_DRAIN_FILE": str(drain_file)}
        # glibc gives every thread that allocates an arena of its own; two are enough for threads that share one
        # GIL, and granian's master holds about 4 MB less (tests/ops/test_serve_memory.py). An operator's wins.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        # Every process of this server counts its metrics in files here, and a scrape adds them up (ops/metrics.py):
        # a new directory at each start, so nothing is counted twice.
        (Path(run_dir) / "metrics").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(Path(run_dir) / "metrics")
        children = {name: start_child(command, {**env, "STRONGBOX_PROCESS_ROLE": role})
                    for name, (role, command) in commands.items()}
        _say(f"Strongbox is serving on {'https' if tls else 'http'}://{host}:{port}/ (Ctrl-C to stop).")
        # Supervise: when either child dies, or we are asked to stop, stop the other one too.
        while not signals and all(child.poll() is None for child in children.values()):
            time.sleep(0.1)
        failed = [name for name, child in children.items() if child.poll() not in (None, 0)]
        if signals:
            _drain(drain_file, children, signals, drain)
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            stop_child(child, KILL_TIMEOUT)
    if failed and not signals:
        raise ServeError(f"The {' and the '.join(failed)} stopped unexpectedly; see the log above.")


def _drain(drain_file: Path, children: dict[str, subprocess.Popen], signals: list[int], seconds: int) -> None:
    """Make /readyz answer 503 and, on SIGTERM, keep serving for STRONGBOX_DRAIN_SECONDS, so a balancer takes
    this server out before it stops taking requests. The task worker stops at once. Ctrl-C (SIGINT), or a second
    signal, ends the wait."""
    drain_file.touch()
    worker = children.get("task worker")
    if worker is not None and worker.poll() is None:
        worker.terminate()
    if signals[0] != signal.SIGTERM or not seconds:
        return
    _say(f"Draining: /readyz answers 503; stopping in {seconds} s.")
    deadline, seen = time.monotonic() + seconds, len(signals)
    while time.monotonic() < deadline and len(signals) == seen and children["app server"].poll() is None:
        time.sleep(0.1)


def _json_logs() -> bool:
    return os.environ.get("STRONGBOX_LOG_FORMAT") == "json"


def _line(message: str, level: str) -> str:
    """`serve`'s own line, as JSON when every other process logs JSON (imported then only: serve stays small)."""
    if not _json_logs():
        return message
    from strongbox.ops.logformat import json_line

    return json_line("strongbox.serve", message, level)


def _say(message: str) -> None:
    sys.stdout.write(f"{_line(message, 'INFO')}\n")
    sys.stdout.flush()


def _fail(message: str) -> int:
    sys.stderr.write(f"{_line(f'strongbox serve: {message}', 'ERROR')}\n")
    return 1


@contextlib.contextmanager
def _configuration_errors():
    """Turn a refused environment variable (lib/env.py raises Django's ImproperlyConfigured) into its message."""
    try:
        yield
    except Exception as error:
        from django.core.exceptions import ImproperlyConfigured  # only on this error path

        if not isinstance(error, ImproperlyConfigured):
            raise
        raise SystemExit(_fail(str(error))) from None
