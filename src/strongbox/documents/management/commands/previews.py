"""`strongbox previews`: queue the rendering of missing previews (or of every document's, with --all)."""

from django.core.management.base import BaseCommand

from strongbox.documents.previews import previews_queue_missing


class Command(BaseCommand):
    help = ("Queue the rendering of previews for documents that have none yet (stored before previews existed); "
            "--all renders every document's again. A running worker (`strongbox serve` or `strongbox worker`) "
            "does the rendering.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="render every document's previews again")
        parser.add_argument("--limit", type=int, default=100_000, help="queue at most this many (default 100000)")

    def handle(self, *args, **options):
        queued = previews_queue_missing(limit=options["limit"], everything=options["all"])
        self.stdout.write(f"Queued the previews of {queued} document{'s' if queued != 1 else ''}.")
