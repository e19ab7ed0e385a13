from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a task worker (the Huey consumer) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, help="Worker threads (default: STRONGBOX_WORKER_THREADS).")

    def handle(self, *args, workers, **options):
        extra = {"workers": workers} if workers else {}
        call_command("run_huey", **extra)
