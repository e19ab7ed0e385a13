import logging
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from strongbox.ops import jobs, metrics

log = logging.getLogger(__name__)


def sweep_forever(stop: threading.Event, interval: float) -> None:
    """Nudge due jobs now and every `interval` seconds until `stop` is set: the ones whose nudge was lost or whose
    worker died (ops/jobs.py)."""
    while True:
        try:
            jobs.sweep()
        except Exception:  # noqa: BLE001 - a database outage must not end the sweeper; the next round retries
            log.exception("job sweep failed")
        finally:
            close_old_connections()
        if stop.wait(interval):
            return


class Command(BaseCommand):
    help = "Run a task worker (the Huey consumer and the job sweep) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, help="Worker threads (default: STRONGBOX_WORKER_THREADS).")
        parser.add_argument("--metrics-port", type=int, default=settings.WORKER_METRICS_PORT,
                            help="Answer Prometheus' scrapes at /metrics on this port (default: "
                                 "STRONGBOX_WORKER_METRICS_PORT; none).")

    def handle(self, *args, workers, metrics_port, **options):
        extra = {"workers": workers} if workers else {}
        if metrics_port:
            metrics.serve_in_thread(settings.WORKER_METRICS_HOST, metrics_port)
        stop = threading.Event()
        sweeper = threading.Thread(target=sweep_forever, args=(stop, settings.JOB_SWEEP_SECONDS), daemon=True,
                                   name="job-sweeper")
        sweeper.start()
        try:
            call_command("run_huey", **extra)
        finally:
            stop.set()
