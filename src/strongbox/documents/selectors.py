"""Document reads. Every query filters by owner inside the query itself."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from strongbox.accounts import audit
from strongbox.accounts.models import AuditEvent
from strongbox.documents import cache
from strongbox.documents.models import Document, Notification, Tag
from strongbox.documents.search import get_backend

PAGE_SIZE = 50
SEARCH_LIMIT = 1000
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


@dataclass
class DocumentPage:
    page: Page
    documents: list[Document]
    snippets: dict[int, str]


def documents_for_user(user) -> QuerySet[Document]:
    """Return the documents `user` may see: their own."""
    return Document.objects.filter(owner_id=user.pk)


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


def user_totals(user) -> dict:
    """Return the number of documents and bytes the user stores (cached until their documents change)."""

    def compute() -> dict:
        totals = documents_for_user(user).aggregate(count=Count("id"), size=Sum("size"))
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
        rows = (Tag.objects.filter(owner_id=user.pk).annotate(uses=Count("documents")).filter(uses__gt=0)
                .order_by(Lower("name")).values_list("name", "uses"))
        return [TagUse(name, uses) for name, uses in rows]

    return cache.cached(user.pk, "tags", compute)


def _with_tags(documents: QuerySet[Document]) -> QuerySet[Document]:
    """Fetch each document's tags in one extra query, as a plain list in `document.tag_list`."""
    tags = Prefetch("tags", queryset=Tag.objects.order_by(Lower("name")), to_attr="tag_list")
    return documents.prefetch_related(tags)


def _filtered(user, query: ListQuery) -> QuerySet[Document]:
    documents = documents_for_user(user)
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
    """Return one page of the user's documents matching `query`, in a constant number of queries.

    With search terms and no explicit sort, documents come best match first with highlighted snippets.
    """
    documents = _filtered(user, query)
    # A query of only punctuation has no terms and so matches nothing, rather than everything.
    searching = bool(query.q)
    if searching:
        ranked = get_backend().search(owner_id=user.pk, query=query.q, limit=SEARCH_LIMIT)
        documents = documents.filter(id__in=ranked)
    if searching and not query.sort:
        allowed = set(documents.values_list("id", flat=True))
        page = Paginator([pk for pk in ranked if pk in allowed], page_size).get_page(page_number)
        by_id = _with_tags(Document.objects.all()).in_bulk(list(page.object_list))
        items = [by_id[pk] for pk in page.object_list]
    else:
        ordering = ORDERINGS.get(query.sort or "-created", ORDERINGS["-created"])
        page = Paginator(_with_tags(documents.order_by(*ordering)), page_size).get_page(page_number)
        items = list(page.object_list)
    snippets = (get_backend().snippets(document_ids=[d.pk for d in items], query=query.q)
                if searching and items else {})
    return DocumentPage(page=page, documents=items, snippets=snippets)


def any_filter(query: ListQuery) -> bool:
    return bool(query.q or query.category or query.tag or query.date_from or query.date_to)




def notifications_for_user(user, *, limit: int = 20) -> list[Notification]:
    """Return the user's newest notifications, with their documents' public ids."""
    return list(Notification.objects.filter(user_id=user.pk).select_related("document")[:limit])


def unread_notification_count(user) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def search_suggestions(user, query: str, *, limit: int = 8) -> list[Document]:
    """Return up to `limit` of the user's documents best matching a partly typed query (last word as a prefix),
    cached per query until their documents change: typing sends the same prefixes again and again."""

    def compute() -> list[Document]:
        ranked = get_backend().search(owner_id=user.pk, query=query, limit=limit)
        by_id = documents_for_user(user).only("public_id", "title", "category").in_bulk(ranked)
        return [by_id[pk] for pk in ranked if pk in by_id]

    return cache.cached(user.pk, "suggestions", compute, query, limit)
