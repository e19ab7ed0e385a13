"""Document reads. Every query filters by who may see the documents (their owner, the users they are shared with)
inside the query itself."""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from strongbox.accounts import audit
from strongbox.accounts.models import AuditEvent
from strongbox.documents import cache
from strongbox.documents.categories import categories_for_user
from strongbox.documents.models import Category, Document, DocumentVersion, Notification, Tag
from strongbox.documents.search import get_backend
from strongbox.lib.prepared import Prepared
from strongbox.sharing.models import Share

PAGE_SIZE = 50
# Filtered searches in best-match order rank among this many best matches (their count counts every match).
SEARCH_LIMIT = 10_000
ORDERINGS = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "title": (Lower("title"), "id"),
    "-title": (Lower("title").desc(), "-id"),
    "size": ("size", "id"),
    "-size": ("-size", "-id"),
}


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    category: str = ""
    tag: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = ""
    # True: only the documents shared with the user; False: only their own; None: both.
    shared: bool | None = None


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """One document of a list or search page: its fields as values, not a model instance (a page of 50 builds
    in a fraction of the time), and its tag names."""

    pk: int
    public_id: str
    title: str
    description: str
    category: str
    extension: str
    original_filename: str
    content_type: str
    size: int
    sha256: str
    text_status: str
    text_error: str
    version: int
    created_at: datetime
    updated_at: datetime
    owner_id: int
    owner_name: str
    # Previews and OCR (documents/previews.py): what the list's thumbnails and the detail page need, in the same row.
    text_source: str
    preview_status: str
    preview_key: str
    preview_pages: int
    preview_error: str
    page_count: int | None
    tag_list: tuple[str, ...] = ()
    category_name: str = ""  # the name of a user's own category (_own_category_names)
    shared: bool = False  # shared with the user reading it, who does not own it

    @property
    def category_label(self) -> str:
        return self.category_name or CATEGORY_LABELS.get(self.category, self.category)


# The lookups of the row's fields: the owner's name comes with the row (a join), not a query per owner.
ROW_LOOKUPS = {"owner_name": "owner__username"}
ROW_FIELDS = [ROW_LOOKUPS.get(field, field) for field in DocumentRow.__slots__
              if field not in ("pk", "tag_list", "category_name", "shared")]
_OWNER_AT = ROW_FIELDS.index("owner_id")
CATEGORY_LABELS = dict(Category.choices)


@dataclass
class DocumentPage:
    page: Page
    documents: list[DocumentRow]
    snippets: dict[int, str]


class _Counted(Sequence):
    """What a Paginator pages over: `count` items whose slices are fetched on demand, so counting and fetching
    the page are one query each however many documents match."""

    def __init__(self, count: int, fetch: Callable[[int, int], list]):
        self._count, self._fetch = count, fetch

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("only slices of a page")
        start, stop, _ = index.indices(self._count)
        return self._fetch(start, stop) if stop > start else []


def documents_for_user(user) -> QuerySet[Document]:
    """Return the documents `user` may see: their own and those shared with them."""
    return _documents_for_user_id(user.pk)


def _documents_for_user_id(user_id: int) -> QuerySet[Document]:
    # A subquery, not a join: a join to the shares would repeat a document once for each user it is shared with.
    return Document.objects.filter(Q(owner_id=user_id)
                                   | Q(id__in=Share.objects.filter(user_id=user_id).values("document_id")))


def _listable(user) -> QuerySet[Document]:
    """Return what the user's list pages page over: as documents_for_user, but their own alone while nothing is
    shared with them, which the owner's indexes serve in the order of every sort (tests/scaleout/test_query_plans.py);
    the "or shared with them" of the other is sorted by the database instead (docs/sharing.md)."""
    shared_with = cache.cached(user.pk, "shared-with", Share.objects.filter(user_id=user.pk).exists)
    return documents_for_user(user) if shared_with else Document.objects.filter(owner_id=user.pk)


def document_for_user(user, public_id: str, request=None) -> Document:
    """Return one of the user's documents, or raise Http404 alike for a missing or someone else's one.

    Asking for someone else's document is recorded in the audit log (the caller still sees a plain 404).
    """
    try:
        return documents_for_user(user).select_related("owner").get(public_id=public_id)
    except Document.DoesNotExist:
        if Document.objects.filter(public_id=public_id).exists():
            audit.record(AuditEvent.Kind.ACCESS_REFUSED, request, user=user, detail=f"document {public_id}")
        raise Http404("No such document.") from None


# One document as a row, and its tag names: the statements of every detail page and API read, compiled once.
_ROW = Prepared(lambda user_id, public_id: _documents_for_user_id(user_id).filter(public_id=public_id)
                .values_list("id", *ROW_FIELDS), -1, "\0public id")
_TAG_NAMES = Prepared(lambda document_id: Document.tags.through.objects.filter(document_id=document_id)
                      .order_by(Lower("tag__name")).values_list("tag__name"), -1)


def document_row(user, public_id: str, request=None) -> DocumentRow:
    """Return one of the user's documents as a row (fields and tag names, no model instance), for pages that only
    show it; raise Http404 as `document_for_user` does, auditing an outsider's attempt the same way."""
    found = _ROW(user.pk, public_id)
    if not found:
        document_for_user(user, public_id, request)  # raises Http404
    pk, *values = found[0]
    row = DocumentRow(pk, *values, tag_list=tuple(name for (name,) in _TAG_NAMES(pk)))
    return _own_category_names(user, [replace(row, shared=row.owner_id != user.pk)])[0]


def user_totals(user) -> dict:
    """Return the number of documents the user sees in their list (their own and those shared with them) and the
    bytes they store themselves (cached until their documents change)."""

    def compute() -> dict:
        totals = _listable(user).aggregate(count=Count("id"), size=Sum("size", filter=Q(owner_id=user.pk)))
        return {"count": totals["count"], "size": totals["size"] or 0}

    return cache.cached(user.pk, "totals", compute)


@dataclass(frozen=True)
class TagUse:
    name: str
    uses: int


def tags_for_user(user) -> list[TagUse]:
    """Return the user's tags that label at least one document, with how many each labels (cached until their
    documents change)."""

    def compute() -> list[TagUse]:
        # Documents in the trash keep their tags (for a restore) but are not counted.
        live = Q(documents__trashed_at__isnull=True, documents__deleted_at__isnull=True)
        rows = (Tag.objects.filter(owner_id=user.pk).annotate(uses=Count("documents", filter=live))
                .filter(uses__gt=0)
                .order_by(Lower("name")).values_list("name", "uses"))
        return [TagUse(name, uses) for name, uses in rows]

    return cache.cached(user.pk, "tags", compute)


# A page's rows and their tags by id, compiled once for each of a few lengths of the id list and padded to the
# next one with an id no row has: the two statements of every list and search page.
_ROWS_LENGTHS = (10, PAGE_SIZE, 100)  # 100: the API's largest page (settings.API_MAX_PAGE_SIZE)
_NO_ID = 0
_USER_PLACEHOLDER = -1


@functools.cache
def _rows_statements(length: int) -> tuple[Prepared, Prepared]:
    ids = tuple(range(-2, -2 - length, -1))
    rows = Prepared(lambda user_id, *ids: _documents_for_user_id(user_id).filter(id__in=ids)
                    .values_list("id", *ROW_FIELDS), _USER_PLACEHOLDER, *ids)
    tags = Prepared(lambda *ids: Document.tags.through.objects.filter(document_id__in=ids)
                    .order_by(Lower("tag__name")).values_list("document_id", "tag__name"), *ids)
    return rows, tags


def _rows(user, ids: list[int]) -> list[DocumentRow]:
    """Return the user's documents with these ids as rows with their tag names, in the order of `ids` (two
    queries)."""
    if not ids:
        return []
    found: dict[int, list] = {}
    tags: dict[int, list[str]] = {}
    for start in range(0, len(ids), _ROWS_LENGTHS[-1]):
        chunk = ids[start:start + _ROWS_LENGTHS[-1]]
        length = next(length for length in _ROWS_LENGTHS if length >= len(chunk))
        padded = [*chunk, *[_NO_ID] * (length - len(chunk))]
        rows, tag_names = _rows_statements(length)
        found.update((pk, values) for pk, *values in rows(user.pk, *padded))
        for document_id, name in tag_names(*padded):
            tags.setdefault(document_id, []).append(name)
    return _own_category_names(user, [DocumentRow(pk, *found[pk], tag_list=tuple(tags.get(pk, ())),
                                                  shared=found[pk][_OWNER_AT] != user.pk)
                                      for pk in ids if pk in found])


def _own_category_names(user, rows: list[DocumentRow]) -> list[DocumentRow]:
    """Give rows in one of the user's own categories its name (cached: no query for a page in built-in ones)."""
    if all(row.category in CATEGORY_LABELS for row in rows):
        return rows
    names = {choice.slug: choice.name for choice in categories_for_user(user)}
    return [replace(row, category_name=names.get(row.category, "")) if row.category not in CATEGORY_LABELS else row
            for row in rows]


def _filtered(user, query: ListQuery) -> QuerySet[Document]:
    documents = _listable(user)
    if query.shared is not None:
        documents = documents.exclude(owner_id=user.pk) if query.shared else documents.filter(owner_id=user.pk)
    if query.category:
        documents = documents.filter(category=query.category)
    if query.tag:
        documents = documents.filter(tags__name__iexact=query.tag, tags__owner_id=user.pk)
    tz = timezone.get_current_timezone()
    if query.date_from:
        documents = documents.filter(created_at__gte=datetime.combine(query.date_from, time.min, tz))
    if query.date_to:
        documents = documents.filter(created_at__lte=datetime.combine(query.date_to, time.max, tz))
    return documents


def document_page(user, query: ListQuery, page_number, *, page_size: int = PAGE_SIZE) -> DocumentPage:
    """Return one page of the user's documents matching `query`, in a constant number of queries, with the true
    number of matches.

    With search terms and no explicit sort, documents come best match first with highlighted snippets: from the
    search index alone when nothing else filters them (deleted documents leave the index at once), else ranked
    among the SEARCH_LIMIT best matches (the count still counts them all).
    """
    filtered = any_filter(replace(query, q=""))
    backend = get_backend()
    # A query of only punctuation has no terms and so matches nothing, rather than everything.
    matching = backend.matching(owner_id=user.pk, query=query.q) if query.q else None

    def documents() -> QuerySet[Document]:
        """The ORM's side, built only on the paths that need it: the filters and the search's matches."""
        found = _filtered(user, query)
        if query.q and matching is None:
            return found.none()
        # The backend's statement is a literal; the user's terms are bound parameters.
        return found.filter(id__in=RawSQL(*matching)) if matching else found  # noqa: S611  # nosec B611

    if matching and not query.sort and not filtered:
        found = _Counted(backend.count(owner_id=user.pk, query=query.q),
                         lambda start, stop: backend.search(owner_id=user.pk, query=query.q, limit=stop - start,
                                                            offset=start))
    elif matching and not query.sort:
        ranked = backend.search(owner_id=user.pk, query=query.q, limit=SEARCH_LIMIT)
        allowed = set(documents().filter(id__in=ranked).values_list("id", flat=True))
        ids = [pk for pk in ranked if pk in allowed]
        found = _Counted(documents().count(), lambda start, stop: ids[start:stop])
    else:
        ordering = ORDERINGS.get(query.sort or "-created", ORDERINGS["-created"])
        # Unfiltered, the count is the user's totals, cached: counting a large archive is the costly part.
        listed = documents()
        count = user_totals(user)["count"] if not (filtered or query.q) else listed.count()
        ordered = listed.order_by(*ordering).values_list("id", flat=True)
        found = _Counted(count, lambda start, stop: list(ordered[start:stop]))
    page = Paginator(found, page_size).get_page(page_number)
    items = _rows(user, list(page.object_list))
    snippets = (backend.snippets(document_ids=[d.pk for d in items], query=query.q) if matching and items else {})
    return DocumentPage(page=page, documents=items, snippets=snippets)


def any_filter(query: ListQuery) -> bool:
    return bool(query.q or query.category or query.tag or query.date_from or query.date_to
                or query.shared is not None)


def document_ids_matching(user, query: ListQuery, *, limit: int) -> list[int]:
    """Return the ids of up to `limit` of the user's documents matching `query` (all of them, not one page), in
    the list's order: the selection "all matching" of a bulk action, re-run on the server."""
    documents = _filtered(user, query)
    if query.q:
        matching = get_backend().matching(owner_id=user.pk, query=query.q)
        if matching is None:
            return []
        # The backend's statement is a literal; the user's terms are bound parameters.
        documents = documents.filter(id__in=RawSQL(*matching))  # noqa: S611  # nosec B611
    ordering = ORDERINGS.get(query.sort or "-created", ORDERINGS["-created"])
    return list(documents.order_by(*ordering).values_list("id", flat=True)[:limit])




def notifications_for_user(user, *, limit: int = 20) -> list[Notification]:
    """Return the user's newest notifications, with their documents' public ids."""
    return list(Notification.objects.filter(user_id=user.pk).select_related("document")[:limit])


NOTIFICATIONS_PAGE_SIZE = 20


def notification_page(user, page_number, *, page_size: int = NOTIFICATIONS_PAGE_SIZE) -> Page:
    """Return one page of the user's notifications, newest change first, with their documents' public ids (two
    queries: the count and the page)."""
    notifications = Notification.objects.filter(user_id=user.pk).select_related("document").order_by("-updated_at",
                                                                                                    "-id")
    return Paginator(notifications, page_size).get_page(page_number)


def unread_notification_count(user) -> int:
    """Return how many of the user's notifications are unread, cached with their documents: notifications are
    written with the documents they are about (text extracted, quota reached), and marking them read bumps the same
    version. Every page's header shows it, and each open page asks again every 5 seconds."""
    return cache.cached(user.pk, "unread", Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count)


def search_suggestions(user, query: str, *, limit: int = 8) -> list[Document]:
    """Return up to `limit` of the user's documents matching a partly typed query (last word as a prefix), title
    matches first, newest first (SearchBackend.suggest), cached per query until their documents change: typing
    sends the same prefixes again and again."""

    def compute() -> list[Document]:
        ranked = get_backend().suggest(owner_id=user.pk, query=query, limit=limit)
        by_id = documents_for_user(user).only("public_id", "title", "category").in_bulk(ranked)
        found = [by_id[pk] for pk in ranked if pk in by_id]
        if any(document.category not in CATEGORY_LABELS for document in found):
            names = {choice.slug: choice.name for choice in categories_for_user(user)}
            for document in found:
                document.category_name = names.get(document.category, "")
        return found

    return cache.cached(user.pk, "suggestions", compute, query, limit)


# Trash and versions (docs/trash-and-versions.md) ----------------------------------------------------------------

def trash_for_user(user) -> list[Document]:
    """Return the documents in the user's trash, most recently trashed first (one query; the trash is small:
    everything in it is purged after TRASH_DAYS)."""
    return list(Document.in_trash.filter(owner_id=user.pk).order_by("-trashed_at", "-id")
                .only("public_id", "title", "original_filename", "size", "category", "trashed_at", "owner_id"))


def trash_count(user) -> int:
    """Return how many documents are in the user's trash (cached until their documents change)."""
    return cache.cached(user.pk, "trash-count", Document.in_trash.filter(owner_id=user.pk).count)


def trashed_document_for_user(user, public_id: str, request=None) -> Document:
    """Return one of the documents in the user's trash, or raise Http404 alike for a missing one, someone else's
    or one not in the trash; someone else's is recorded in the audit log as `document_for_user` does."""
    try:
        return Document.in_trash.filter(owner_id=user.pk).select_related("owner").get(public_id=public_id)
    except Document.DoesNotExist:
        if Document.with_tombstones.filter(public_id=public_id, deleted_at__isnull=True).exclude(
                owner_id=user.pk).exists():
            audit.record(AuditEvent.Kind.ACCESS_REFUSED, request, user=user, detail=f"document {public_id}")
        raise Http404("No such document.") from None


def versions_for_document(document_id: int) -> list[DocumentVersion]:
    """Return a document's versions, newest first, with who uploaded each (one query). The caller has checked
    that the user may see the document."""
    return list(DocumentVersion.objects.filter(document_id=document_id).select_related("uploaded_by")
                .order_by("-number"))


def version_for_user(user, public_id: str, number: int, request=None) -> tuple[Document, DocumentVersion]:
    """Return one of the user's documents and its version `number`, Http404 alike if either is missing."""
    document = document_for_user(user, public_id, request)
    version = DocumentVersion.objects.filter(document_id=document.pk, number=number).first()
    if version is None:
        raise Http404("No such version.")
    return document, version
