from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "strongbox.ops"
    label = "ops"
