from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OpsConfig(AppConfig):
    name = "strongbox.ops"
    label = "ops"

    def ready(self):
        from huey.contrib.djhuey import HUEY

        from strongbox.ops import dbrouter

        HUEY.pre_execute()(dbrouter.task_started)
        HUEY.post_execute()(dbrouter.task_finished)
        if dbrouter.replica_aliases():
            connection_created.connect(dbrouter.watch_writes)
