from django.core.management.base import BaseCommand, CommandError

from strongbox.accounts.two_factor import two_factor_secrets_reencrypt


class Command(BaseCommand):
    help = ("Encrypt every two-factor secret again with the first key of STRONGBOX_TOTP_KEYS; afterwards the keys "
            "after it can be removed.")

    def handle(self, *args, **options):
        done, unreadable = two_factor_secrets_reencrypt()
        if unreadable:
            raise CommandError(f"Re-encrypted {done} secrets; {len(unreadable)} decrypt with no key in "
                               f"STRONGBOX_TOTP_KEYS and were left as they are: {', '.join(unreadable)}. Keep the old "
                               "keys until these users set up their app again.")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {done} two-factor secrets with the first key. The other "
                                             "keys in STRONGBOX_TOTP_KEYS can now be removed."))
