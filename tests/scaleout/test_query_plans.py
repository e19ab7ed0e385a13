"""Every list filter and sort is served by an index on PostgreSQL: EXPLAIN of the queries the list page really
runs, with sequential scans priced out, never falls back to scanning the documents table or sorting all of an
owner's documents for one page."""

import datetime
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpers import make_documents
from strongbox.documents.forms import SORTS
from strongbox.documents.models import Category, Tag
from strongbox.documents.selectors import ListQuery, document_page

pytestmark = [
    pytest.mark.skipif(not settings.SCALE_OUT_RUN, reason="runs in the scale-out run of the suite (make test)"),
    pytest.mark.django_db,
]
SCANS_DOCUMENTS = re.compile(r"Seq Scan on documents_document\b(?!_)")
FULL_SORT = re.compile(r"^\s*(->\s*)?Sort  \(", re.MULTILINE)  # Incremental Sort (ties broken by id) is fine

QUERIES = [ListQuery(sort=sort) for sort in SORTS] + [
    ListQuery(category=Category.INVOICE),
    ListQuery(category=Category.INVOICE, sort="-created"),
    ListQuery(tag="tax"),
    ListQuery(date_from=datetime.date(2026, 1, 1)),
    ListQuery(date_from=datetime.date(2026, 1, 1), date_to=datetime.date(2026, 12, 31),
              sort="created"),
]


def plans(alice, query: ListQuery) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        document_page(alice, query, 1)
    explained = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in (q["sql"] for q in captured.captured_queries if "documents_document" in q["sql"]):
            cursor.execute(f"EXPLAIN {sql}")
            explained.append("\n".join(row[0] for row in cursor.fetchall()))
    return explained


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_every_list_filter_and_sort_uses_an_index(alice, bob, query):
    for owner in (alice, bob):
        documents = make_documents(owner, 300, category=Category.INVOICE)
        tag = Tag.objects.create(owner=owner, name="tax")
        tag.documents.add(*documents[:30])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    for plan in plans(alice, query):
        assert not SCANS_DOCUMENTS.search(plan), plan
        # A tag's documents come through the tag's join rows: sorting those (not all the owner's) is the plan.
        if plan.startswith("Limit") and not query.tag:
            assert not FULL_SORT.search(plan), plan
