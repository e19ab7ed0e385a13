"""The `strongbox` command: Django's manage.py under the project's name."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongbox.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv or sys.argv)
