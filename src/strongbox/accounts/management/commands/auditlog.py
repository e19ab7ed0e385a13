import datetime

from django.core.management.base import BaseCommand, CommandError

from strongbox.accounts import partitions


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"{value!r} is not a month: write it as YYYY-MM, e.g. 2026-01.") from None


class Command(BaseCommand):
    help = ("Manage the audit log's monthly partitions (PostgreSQL): list them, create the coming months', or "
            "detach the months before a given one so they can be archived or dropped.")

    def add_arguments(self, parser):
        parser.add_argument("--ensure", type=int, metavar="MONTHS", help="Create partitions for this month and the "
                            "next MONTHS - 1.")
        parser.add_argument("--detach-before", type=_month, metavar="YYYY-MM", help="Detach every month before this.")

    def handle(self, *args, ensure, detach_before, **options):
        if not partitions.is_partitioned():
            raise CommandError("The audit log is partitioned on PostgreSQL only (this database keeps one table).")
        if ensure:
            for name in partitions.partitions_ensure(months=ensure):
                self.stdout.write(f"created {name}")
        if detach_before:
            for name in partitions.partitions_detach(before=detach_before):
                self.stdout.write(f"detached {name} (its table remains: archive it with pg_dump, then DROP TABLE)")
        for name in partitions.partitions():
            self.stdout.write(name)
