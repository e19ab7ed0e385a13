import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from helpers import make_documents
from strongbox.documents.models import Document
from strongbox.lib.prepared import Prepared

pytestmark = pytest.mark.django_db


def by_title():
    return Prepared(lambda owner_id, title: Document.objects.filter(owner_id=owner_id, title=title)
                    .values_list("public_id", "created_at", "size"), -1, "\0title")


def test_it_runs_the_orm_query_with_the_values_given_and_converts_rows_as_the_orm_does(alice, bob):
    first, second = make_documents(alice, 2)
    make_documents(bob, 1)
    query = by_title()

    assert query(alice.pk, first.title) == list(Document.objects.filter(owner_id=alice.pk, title=first.title)
                                                .values_list("public_id", "created_at", "size"))
    assert query(alice.pk, second.title)[0][0] == second.public_id
    assert query(alice.pk, first.title)[0][1].tzinfo is not None  # an aware datetime, as from the ORM
    assert query(bob.pk, second.title) == []  # bob has a Doc 000 but no Doc 001


def test_the_managers_rules_stay_in_the_query(alice):
    live, deleted = make_documents(alice, 2)
    Document.with_tombstones.filter(pk=deleted.pk).update(deleted_at=live.created_at)

    assert by_title()(alice.pk, deleted.title) == []


def test_it_compiles_once_and_sends_one_statement_per_call(alice):
    document, = make_documents(alice, 1)
    query = by_title()
    query(alice.pk, document.title)
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            query(alice.pk, document.title)
    assert len(captured) == 3
    assert len({entry["sql"].split(" WHERE ")[0] for entry in captured}) == 1


@pytest.mark.django_db(transaction=True)  # the other thread's connection sees committed rows only
def test_each_thread_compiles_with_its_own_connection(alice):
    document, = make_documents(alice, 1)
    query = by_title()
    query(alice.pk, document.title)
    found = []

    def in_another_thread():
        try:
            found.append(query(alice.pk, document.title))
        finally:
            connections.close_all()

    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert [row[0] for row in found[0]] == [document.public_id]


def test_placeholders_must_differ():
    with pytest.raises(ValueError, match="differ"):
        Prepared(lambda owner_id, other: Document.objects.filter(owner_id=owner_id, size=other), -1, -1)


def test_a_placeholder_the_query_does_not_use_is_refused():
    query = Prepared(lambda owner_id: Document.objects.filter(owner_id=5).values_list("id"), -1)
    with pytest.raises(ValueError, match="once among the compiled parameters"):
        query(7)
