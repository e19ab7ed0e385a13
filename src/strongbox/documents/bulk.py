"""Writes to many of a user's documents at once: tag, untag, change category, move to trash.

Each takes the ids of documents the caller selected and acts only on those the owner has (any other id is
ignored, as a missing one is), in one transaction, set-based: one UPDATE for the versions, one INSERT or DELETE
for the tags, the search entries of the changed documents re-written together. Beyond MAX_DOCUMENTS the action
is refused as a whole rather than done in part (docs/bulk-work.md).
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from strongbox.documents import cache, categories, services
from strongbox.documents.forms import MAX_TAG_LENGTH
from strongbox.documents.models import Document, Tag
from strongbox.documents.search import get_backend
from strongbox.sharing.models import Share

MAX_DOCUMENTS = 1000
REINDEX_CHUNK = 100


class TooManyDocuments(Exception):
    """More documents were selected than one action may change; nothing was changed."""

    def __init__(self, count: int | None = None):
        self.count = count
        super().__init__(f"At most {MAX_DOCUMENTS} documents can be changed at once"
                         f"{f' ({count} are selected)' if count else ''}. Narrow the search or select fewer.")


class InvalidBulkInput(ValueError):
    """A tag name or category the action cannot use; nothing was changed."""


Through = Document.tags.through


def _own_ids(owner, document_ids: Iterable[int]) -> list[int]:
    """Return those of the ids that are the owner's live documents (TooManyDocuments past the limit)."""
    wanted = list(dict.fromkeys(document_ids))
    if len(wanted) > MAX_DOCUMENTS:
        raise TooManyDocuments(len(wanted))
    if not wanted:
        return []
    return list(Document.objects.filter(owner=owner, id__in=wanted).values_list("id", flat=True))


def _tag_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidBulkInput("Enter a tag.")
    if len(name) > MAX_TAG_LENGTH:
        raise InvalidBulkInput(f"Tags can be at most {MAX_TAG_LENGTH} characters long.")
    return name


def _changed(owner, ids: list[int]) -> None:
    """Bump the changed documents' versions (their ETags), re-index them, and invalidate the owner's caches."""
    if not ids:
        return
    Document.objects.filter(id__in=ids).update(version=F("version") + 1, updated_at=timezone.now())
    cache.bump(owner.pk)
    # The users some of them are shared with see the change too.
    for user_id in set(Share.objects.filter(document_id__in=ids).values_list("user_id", flat=True)):
        cache.bump(user_id)


def _reindex(ids: list[int]) -> None:
    """Write the search entries of these documents again (their tags changed), REINDEX_CHUNK at a time."""
    backend = get_backend()
    for start in range(0, len(ids), REINDEX_CHUNK):
        backend.index_many(services.index_entries(ids[start:start + REINDEX_CHUNK]))


def documents_bulk_tag(*, owner, document_ids: Iterable[int], tag: str) -> int:
    """Add the tag (created if the owner has none of that name) to the owner's documents among `document_ids`;
    return how many did not have it yet."""
    name = _tag_name(tag)
    with transaction.atomic():
        ids = _own_ids(owner, document_ids)
        if not ids:
            return 0
        (found,) = services._tags_for(owner, [name])
        having = set(Through.objects.filter(tag=found, document_id__in=ids).values_list("document_id", flat=True))
        added = [pk for pk in ids if pk not in having]
        # ignore_conflicts: a concurrent request may add the same pair; the pair exists either way.
        Through.objects.bulk_create([Through(document_id=pk, tag_id=found.pk) for pk in added],
                                    ignore_conflicts=True)
        _changed(owner, added)
        _reindex(added)
    return len(added)


def documents_bulk_untag(*, owner, document_ids: Iterable[int], tag: str) -> int:
    """Remove the tag from the owner's documents among `document_ids`; return how many had it."""
    name = _tag_name(tag)
    with transaction.atomic():
        ids = _own_ids(owner, document_ids)
        found = Tag.objects.filter(owner=owner, name__iexact=name).first()
        if not ids or found is None:
            return 0
        pairs = Through.objects.filter(tag=found, document_id__in=ids)
        removed = list(pairs.values_list("document_id", flat=True))
        pairs.delete()
        _changed(owner, removed)
        _reindex(removed)
    return len(removed)


def documents_bulk_set_category(*, owner, document_ids: Iterable[int], category: str) -> int:
    """Put the owner's documents among `document_ids` in `category`; return how many changed. The category is
    not part of the search entries, so none is re-written."""
    if not categories.is_category(owner, category):
        raise InvalidBulkInput("Choose one of the categories.")
    with transaction.atomic():
        ids = _own_ids(owner, document_ids)
        rows = Document.objects.filter(id__in=ids).exclude(category=category)
        changed = list(rows.values_list("id", flat=True))
        Document.objects.filter(id__in=changed).update(category=category)
        _changed(owner, changed)
    return len(changed)


def documents_bulk_trash(*, owner, document_ids: Iterable[int], actor) -> int:
    """Move the owner's documents among `document_ids` to the trash, one by one through the single-document
    service (its audit record, index removal and file handling); return how many. A document deleted meanwhile
    is skipped."""
    ids = _own_ids(owner, document_ids)
    moved = 0
    for document in Document.objects.filter(id__in=ids).select_related("owner"):
        try:
            services.document_trash(document=document, actor=actor)
        except services.DocumentGone:
            continue
        moved += 1
    return moved


def documents_bulk_apply(*, owner, action: str, document_ids: Iterable[int], tag: str = "", category: str = "",
                         actor) -> int:
    """Run one bulk action ("tag", "untag", "category" or "trash") on the owner's documents among `document_ids`;
    return how many it changed. The one dispatch of the list page's bar and of the API."""
    if action == "tag":
        return documents_bulk_tag(owner=owner, document_ids=document_ids, tag=tag)
    if action == "untag":
        return documents_bulk_untag(owner=owner, document_ids=document_ids, tag=tag)
    if action == "category":
        return documents_bulk_set_category(owner=owner, document_ids=document_ids, category=category)
    if action == "trash":
        return documents_bulk_trash(owner=owner, document_ids=document_ids, actor=actor)
    raise InvalidBulkInput(f"Not an action: {action}.")
