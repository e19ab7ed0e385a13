"""Notifications about text extraction, grouped per batch: uploading 73 documents makes one notification that
counts them ("73 documents are indexed and can be searched"), not 73 unread ones.

A result joins the user's newest unread notification of the same kind if that one was last joined less than
NOTIFICATION_GROUP_SECONDS ago; otherwise it starts a new one, about its document alone. Failures are not grouped:
each says why its document could not be read, which a count would hide.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from strongbox.documents.models import Document, Notification

GROUPED_KINDS = {Notification.Kind.TEXT_READY}


def group_message(kind: str, count: int) -> str:
    """Return what a group of `count` results of `kind` says."""
    return f"{count} documents are indexed and can be searched."


def _open_group(user_id: int, kind: str, since) -> Notification | None:
    """Return the user's newest unread notification of `kind` joined since `since`, if any."""
    return (Notification.objects.filter(user_id=user_id, kind=kind, read_at__isnull=True, updated_at__gte=since)
            .order_by("-updated_at", "-id").first())


def text_result_notify(*, document: Document, kind: str, message: str) -> None:
    """Tell the document's owner its text is ready (or could not be read): in a group of the batch's results where
    one is open, else in a notification of its own. The caller bumps the owner's cached values (cache.py)."""
    window = settings.NOTIFICATION_GROUP_SECONDS
    if kind not in GROUPED_KINDS or window <= 0:
        Notification.objects.create(user_id=document.owner_id, kind=kind, message=message, document=document)
        return
    now = timezone.now()
    with transaction.atomic():
        # Two workers finishing documents of the same batch at once must not both find no group and both start
        # one, nor both count the same: the owner's row is the lock they queue on (SQLite's IMMEDIATE
        # transactions already serialize every writer).
        list(get_user_model().objects.select_for_update().filter(pk=document.owner_id).values_list("pk"))
        group = _open_group(document.owner_id, kind, now - timedelta(seconds=window))
        if group is None:
            Notification.objects.create(user_id=document.owner_id, kind=kind, message=message, document=document,
                                        updated_at=now)
            return
        # A group is about no single document: deleting one of them must not delete the notification with it.
        Notification.objects.filter(pk=group.pk).update(count=F("count") + 1, document=None, updated_at=now,
                                                        message=group_message(kind, group.count + 1))
