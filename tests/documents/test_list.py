from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpers import make_documents
from strongbox.documents import cache
from strongbox.documents.models import Document, Tag
from strongbox.documents.services import document_index

pytestmark = pytest.mark.django_db
LIST = reverse("documents:list")


def titles(response) -> list[str]:
    return [document.title for document in response.context["result"].documents]



def test_it_shows_an_empty_state_with_an_upload_link(alice_client):
    response = alice_client.get(LIST)
    assert response.status_code == 200
    assert b"You have no documents yet." in response.content
    assert reverse("documents:upload").encode() in response.content


def test_it_sends_anonymous_users_to_sign_in(anonymous_client):
    response = anonymous_client.get(LIST)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={LIST}"


def test_it_lists_only_the_users_own_documents_with_totals(alice_client, alice, bob):
    make_documents(alice, 3)
    Document.objects.create(owner=bob, title="Bob's secret", file="documents/x/b", original_filename="b.txt",
                            extension="txt", content_type="text/plain", size=100, sha256="0" * 64)
    response = alice_client.get(LIST)
    assert sorted(titles(response)) == ["Doc 000", "Doc 001", "Doc 002"]
    assert b"Bob&#39;s secret" not in response.content and b"Bob's secret" not in response.content
    assert response.context["totals"] == {"count": 3, "size": 6}
    assert b"3 documents" in response.content


def test_it_paginates_by_fifty_with_a_next_link(alice_client, alice):
    make_documents(alice, 51)
    first = alice_client.get(LIST)
    assert len(titles(first)) == 50
    assert b'rel="next"' in first.content
    second = alice_client.get(LIST, {"page": 2})
    assert len(titles(second)) == 1


@pytest.mark.parametrize(("sort", "expected"), [
    ("title", ["Doc 000", "Doc 001", "Doc 002"]),
    ("-title", ["Doc 002", "Doc 001", "Doc 000"]),
    ("size", ["Doc 000", "Doc 001", "Doc 002"]),
    ("-size", ["Doc 002", "Doc 001", "Doc 000"]),
    ("created", ["Doc 002", "Doc 001", "Doc 000"]),
    ("-created", ["Doc 000", "Doc 001", "Doc 002"]),
])
def test_it_sorts_both_ways(alice_client, alice, sort, expected):
    documents = make_documents(alice, 3)
    now = timezone.now()
    for age, document in enumerate(documents):
        Document.objects.filter(pk=document.pk).update(created_at=now - timedelta(days=age))
    assert titles(alice_client.get(LIST, {"sort": sort})) == expected


def test_it_remembers_the_sort_and_density_in_a_plain_cookie(alice_client, alice):
    make_documents(alice, 2)
    response = alice_client.get(LIST, {"sort": "-title", "density": "compact"})
    assert response.cookies["sb_sort"].value == "-title"
    assert not response.cookies["sb_sort"]["httponly"]
    later = alice_client.get(LIST)
    assert titles(later) == ["Doc 001", "Doc 000"]
    assert b"density-compact" in later.content


def test_it_filters_by_category_tag_and_date(alice_client, alice, uploaded):
    uploaded("txt", title="Invoice March", category="invoice", tags="bank")
    uploaded("txt", title="Letter", category="letter", tags="Bank, home")
    old = uploaded("txt", title="Old invoice", category="invoice")
    Document.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert sorted(titles(alice_client.get(LIST, {"category": "invoice"}))) == ["Invoice March", "Old invoice"]
    assert sorted(titles(alice_client.get(LIST, {"tag": "BANK"}))) == ["Invoice March", "Letter"]
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert sorted(titles(alice_client.get(LIST, {"date_from": since}))) == ["Invoice March", "Letter"]
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert titles(alice_client.get(LIST, {"date_to": until})) == ["Old invoice"]


def test_it_says_when_nothing_matches(alice_client, alice):
    make_documents(alice, 1)
    response = alice_client.get(LIST, {"category": "receipt"})
    assert b"No documents match" in response.content


@pytest.mark.parametrize("params", [{"date_from": "yesterday"}, {"category": "nope"}, {"sort": "password"},
                                    {"date_from": "2026-02-01", "date_to": "2026-01-01"}])
def test_it_answers_bad_filters_with_400_and_a_message(alice_client, params):
    response = alice_client.get(LIST, params)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert b'class="error banner"' in response.content


@pytest.mark.parametrize("params", [{}, {"sort": "title"}, {"category": "other", "tag": "t0"}, {"q": "doc"}])
def test_it_issues_the_same_number_of_queries_for_one_and_fifty_documents(alice_client, alice, params,
                                                                        django_capture_on_commit_callbacks):
    tag = Tag.objects.create(owner=alice, name="t0")

    def add(count: int, start: int) -> int:
        for document in Document.objects.bulk_create([
            Document(owner=alice, title=f"Doc {start + i}", file=f"documents/x/{start + i}", extension="txt",
                     original_filename="a.txt", content_type="text/plain", size=1, sha256="0" * 64)
            for i in range(count)
        ]):
            document.tags.add(tag)
            document_index(document)
        with django_capture_on_commit_callbacks(execute=True):
            cache.bump(alice.pk)  # as the services do after every write (the unfiltered count is the cached total)
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(LIST, params)
        assert response.status_code == 200
        assert len(response.context["result"].documents) == start + count
        return len(queries)

    alice_client.get(LIST)  # the session's first request records its start: not part of the list's cost
    assert add(1, 0) == add(49, 1)
