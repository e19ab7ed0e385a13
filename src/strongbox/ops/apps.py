from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OpsConfig(AppConfig):
    name = "strongbox.ops"
    label = "ops"

    def ready(self):
        from django.conf import settings
        from huey.contrib.djhuey import HUEY

        from strongbox.ops import dbrouter, metrics
        from strongbox.ops.datadir import data_dir_make_private

        data_dir_make_private(settings.DATA_DIR)

        HUEY.pre_execute()(dbrouter.task_started)
        HUEY.post_execute()(dbrouter.task_finished)
        metrics.process_started()
        connection_created.connect(metrics.install_query_timer)
        if dbrouter.replica_aliases():
            connection_created.connect(dbrouter.watch_writes)
