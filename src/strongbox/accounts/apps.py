from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "strongbox.accounts"
    label = "accounts"

    def ready(self):
        # Connect the audit log's receivers for Django's sign-in, sign-out and failed sign-in signals.
        from strongbox.accounts import audit  # noqa: F401
