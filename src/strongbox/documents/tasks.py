"""Background work on documents. Jobs take ids, re-fetch, and call a service; running one twice is harmless.

Services enqueue these jobs, so the jobs import the services lazily to avoid an import cycle.
"""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from strongbox.ops.jobs import job
from strongbox.ops.periodic import once_per_interval


def _extraction_abandoned(*, document_id: int, error: str) -> None:
    from strongbox.documents.services import document_extraction_abandon

    document_extraction_abandon(document_id=document_id, error=error)


def extraction_group(owner_id: int) -> str:
    """The job group of an owner's extractions: at most EXTRACTIONS_PER_OWNER of them run at once."""
    return f"owner:{owner_id}"


def _extractions_per_owner() -> int:
    return settings.EXTRACTIONS_PER_OWNER


# An owner's text extractions and preview renderings share their EXTRACTIONS_PER_OWNER slots: both run untrusted
# files in the limited child, and one user's uploads must leave the other worker threads to everyone else.
OWNER_FILE_WORK = "owner-file-work"


@job(max_attempts=3, retry_delay=10, give_up=_extraction_abandoned, per_group=_extractions_per_owner,
     shares_slots_with=OWNER_FILE_WORK)
def extract_document_text(document_id: int) -> None:
    from strongbox.documents.services import document_extract_text

    document_extract_text(document_id=document_id)


def _previews_abandoned(*, document_id: int, error: str) -> None:
    from strongbox.documents.previews import document_previews_abandon

    document_previews_abandon(document_id=document_id, error=error)


@job(max_attempts=3, retry_delay=10, give_up=_previews_abandoned, per_group=_extractions_per_owner,
     shares_slots_with=OWNER_FILE_WORK)
def render_document_previews(document_id: int) -> None:
    from strongbox.documents.previews import document_previews_render

    document_previews_render(document_id=document_id)


@db_periodic_task(crontab(minute="*/10"))
@once_per_interval(10 * 60)
def queue_missing_previews() -> None:
    """Documents stored before previews existed get theirs, a batch at a time."""
    from strongbox.documents.previews import previews_queue_missing

    previews_queue_missing()


@db_periodic_task(crontab(minute="*/30"))
@once_per_interval(30 * 60)
def remove_orphan_files() -> None:
    from strongbox.documents.previews import orphan_previews_remove
    from strongbox.documents.services import orphan_files_remove

    orphan_files_remove()
    orphan_previews_remove()


@db_periodic_task(crontab(hour="4", minute="17"))
@once_per_interval(24 * 3600)
def purge_tombstones() -> None:
    from strongbox.documents.services import tombstones_purge

    tombstones_purge()


@db_periodic_task(crontab(hour="4", minute="47"))
@once_per_interval(24 * 3600)
def purge_trash() -> None:
    """Delete for good the documents that have been in the trash for longer than TRASH_DAYS."""
    from strongbox.documents.services import trash_purge_expired

    trash_purge_expired()
