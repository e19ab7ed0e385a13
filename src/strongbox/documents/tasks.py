"""Background work on documents. Tasks take ids, re-fetch, and call a service; running one twice is harmless.

Services enqueue these tasks, so the tasks import the services lazily to avoid an import cycle.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=10, retry_backoff=2)
def extract_document_text(document_id: int) -> None:
    from strongbox.documents.services import document_extract_text

    document_extract_text(document_id=document_id)


@db_periodic_task(crontab(minute="*/30"))
def remove_orphan_files() -> None:
    from strongbox.documents.services import orphan_files_remove

    orphan_files_remove()
