import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from strongbox.accounts.services import user_create


class Command(BaseCommand):
    help = "Create an active account. The password comes from STRONGBOX_PASSWORD or a prompt."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--staff", action="store_true", help="May use the admin site.")
        parser.add_argument("--superuser", action="store_true", help="Has every permission (implies --staff).")

    def handle(self, *args, username, email, staff, superuser, **options):
        password = os.environ.get("STRONGBOX_PASSWORD") or self._prompt()
        try:
            user = user_create(username=username, email=email, password=password,
                               is_staff=staff or superuser, is_superuser=superuser)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.username}. Sign in at /accounts/login/."))

    def _prompt(self) -> str:
        if not os.isatty(0):
            raise CommandError("Set STRONGBOX_PASSWORD or run the command in a terminal to be asked.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            raise CommandError("The two passwords differ.")
        return password
