"""The `strongbox` command: Django's manage.py under the project's name."""

import os
import sys

# Everything Strongbox writes (the database, mail with reset links, documents, the cache) is for the service user
# alone: files 0600, directories 0700. Set before anything is created; `serve`'s children inherit it.
PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> None:
    os.umask(PRIVATE_UMASK)
    argv = argv or sys.argv
    if argv[1:2] == ["cluster"]:  # needs no Django, and answers in a fraction of the time without it
        from strongbox.cluster.cli import main as cluster

        sys.exit(cluster(argv[2:]))
    if argv[1:2] == ["serve"]:  # only supervises: without Django it holds a tenth of the memory (ops/serve.py)
        from strongbox.ops.serve import main as serve

        sys.exit(serve(argv[2:]))
    if argv[1:2] == ["worker"]:
        os.environ.setdefault("STRONGBOX_PROCESS_ROLE", "worker")  # as the metrics name it (ops/metrics.py)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongbox.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
