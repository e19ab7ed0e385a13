"""`serve` as a management command too (`django-admin serve`, call_command): the same options and the same run
as `strongbox serve`, which cli.py sends to ops/serve.py before Django loads."""

import argparse
import sys

from django.core.management.base import BaseCommand

from strongbox.ops import serve


class Command(BaseCommand):
    help = "Serve Strongbox with granian and run the task worker beside it, until interrupted."
    requires_system_checks = []  # serve's preflight runs them (in a child), as it does for `strongbox serve`

    def create_parser(self, prog_name, subcommand, **kwargs):
        return serve.parser()

    def run_from_argv(self, argv):
        sys.exit(serve.main(argv[2:]))

    def handle(self, *args, **options):
        status = serve.run(argparse.Namespace(**{**vars(serve.parser().parse_args([])), **options}))
        if status:
            sys.exit(status)
