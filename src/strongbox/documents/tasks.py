"""Background work on documents. Tasks take ids, re-fetch, and call a service; running one twice is harmless.

Services enqueue these tasks, so the tasks import the services lazily to avoid an import cycle.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from strongbox.ops.periodic import once_per_interval


@db_task(retries=3, retry_delay=10, retry_backoff=2)
def extract_document_text(document_id: int) -> None:
    from strongbox.documents.services import document_extract_text

    document_extract_text(document_id=document_id)


@db_periodic_task(crontab(minute="*/30"))
@once_per_interval(30 * 60)
def remove_orphan_files() -> None:
    from strongbox.documents.services import orphan_files_remove

    orphan_files_remove()


@db_periodic_task(crontab(minute="*/15"))
@once_per_interval(15 * 60)
def requeue_stalled_extractions() -> None:
    from strongbox.documents.services import stalled_extractions_requeue

    stalled_extractions_requeue()


@db_periodic_task(crontab(hour="4", minute="17"))
@once_per_interval(24 * 3600)
def purge_tombstones() -> None:
    from strongbox.documents.services import tombstones_purge

    tombstones_purge()
