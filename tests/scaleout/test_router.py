"""The replica router against the real streaming replica of the scale-out run: search reads on the replica, a
replica whose WAL receiver stopped is skipped, and a session touch pins nothing."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpers import forget_cached_pages
from strongbox.accounts.middleware import SEEN
from strongbox.documents import cache
from strongbox.ops.dbrouter import PIN_COOKIE, primary_lsn, replicas

pytestmark = [
    pytest.mark.skipif(not settings.SCALE_OUT_RUN, reason="runs in the scale-out run of the suite (make test)"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture
def document(uploaded, cluster):
    document = uploaded("txt", title="Lease")
    cluster.postgres.wait_for_replay()
    return document


def ran_on(queries, table: str) -> bool:
    return any(table in query["sql"] for query in queries)


def test_it_answers_an_unpinned_search_from_the_replica(alice_client, document):
    with CaptureQueriesContext(connections["replica1"]) as replica, \
            CaptureQueriesContext(connections["default"]) as primary:
        response = alice_client.get(reverse("documents:list"), {"q": "lease"})
    assert response.status_code == 200 and document.public_id in response.content.decode()
    assert ran_on(replica.captured_queries, "documents_search_pg")
    assert not ran_on(primary.captured_queries, "documents_search_pg")


def test_an_unpinned_search_sees_only_what_the_replica_replayed_and_a_pinned_one_sees_the_primary(
        alice_client, document, cluster, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 600  # paused on purpose: not "too far behind" for this test
    database = connections["default"].settings_dict["NAME"]
    link = reverse("documents:detail", args=[document.public_id])
    cluster.postgres.replica.psql("SELECT pg_wal_replay_pause()")
    try:
        # Written from outside this process, as by another app server: this process's own writes would send its
        # reads to the primary anyway.
        update = f"UPDATE documents_search_pg SET body = 'zebra' WHERE document_id = {document.pk}"  # noqa: S608
        cluster.postgres.primary.psql(update, database)
        unpinned = alice_client.get(reverse("documents:list"), {"q": "zebra"})
        assert unpinned.status_code == 200 and link not in unpinned.content.decode()

        alice_client.cookies[PIN_COOKIE] = f"{primary_lsn():x}"
        forget_cached_pages()  # the unpinned answer, cached: what is under test is where the pinned one reads
        pinned = alice_client.get(reverse("documents:list"), {"q": "zebra"})
        assert pinned.status_code == 200 and link in pinned.content.decode()
    finally:
        cluster.postgres.replica.psql("SELECT pg_wal_replay_resume()")


def test_a_cache_version_bumped_by_another_process_is_computed_from_data_that_has_its_write(
        alice_client, alice, document, cluster, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 600  # paused on purpose: not "too far behind" for this test
    database = connections["default"].settings_dict["NAME"]
    cluster.postgres.replica.psql("SELECT pg_wal_replay_pause()")
    try:
        # Another process (the task worker storing a document's text) writes, commits and bumps the version.
        # A synchronous commit, as in production (the test cluster runs with synchronous_commit off).
        update = f"SET synchronous_commit = on; UPDATE documents_search_pg SET body = 'zebra' WHERE document_id = {document.pk}"  # noqa: E501, S608
        cluster.postgres.primary.psql(update, database)
        cache._bump(alice.pk)
        # Suggestions are cached under that version: computed on the paused replica, they would stay stale.
        suggestions = alice_client.get(reverse("documents:suggest"), {"q": "zebra"})
        assert "Lease" in suggestions.content.decode()
    finally:
        cluster.postgres.replica.psql("SELECT pg_wal_replay_resume()")


def test_a_replica_whose_wal_receiver_stopped_is_skipped_until_it_streams_again(
        alice_client, document, cluster, settings, caplog):
    settings.REPLICA_RETRY_SECONDS = 1
    try:
        cluster.postgres.stop_wal_receiver()
        # Nothing is pending, so the replica has replayed all it received: only the receiver's state tells.
        replicas.reset()
        with CaptureQueriesContext(connections["replica1"]) as replica:
            response = alice_client.get(reverse("documents:list"))
        assert response.status_code == 200 and b"Lease" in response.content
        assert not ran_on(replica.captured_queries, "documents_document")
        assert "replica1" in replicas.down_until
        assert "replica1 skipped for 1 s: its WAL receiver is not running" in caplog.text

        cluster.postgres.start_wal_receiver()
        cluster.postgres.wait_for_replay()
        time.sleep(1.1)  # REPLICA_RETRY_SECONDS
        forget_cached_pages()
        with CaptureQueriesContext(connections["replica1"]) as replica:
            response = alice_client.get(reverse("documents:list"))
        assert response.status_code == 200 and ran_on(replica.captured_queries, "documents_document")
    finally:
        cluster.postgres.start_wal_receiver()


def test_a_request_that_only_touched_its_session_pins_neither_the_client_nor_the_process(
        alice_client, document, cluster):
    session = alice_client.session
    session[SEEN] = int(time.time()) - 120
    session.save()
    cluster.postgres.wait_for_replay()
    cluster.postgres.replica.psql("SELECT pg_wal_replay_pause()")
    try:
        # Last seen two minutes ago: this request records that it saw the session again, a write.
        touched = alice_client.get(reverse("documents:list"))
        assert touched.status_code == 200 and PIN_COOKIE not in touched.cookies
        stored = Session.objects.using("default").get(session_key=session.session_key).get_decoded()
        assert stored[SEEN] > int(time.time()) - 60

        # The replica has not replayed the touch, and need not have: the next reads still go to it.
        forget_cached_pages()
        with CaptureQueriesContext(connections["replica1"]) as replica:
            assert alice_client.get(reverse("documents:list")).status_code == 200
        assert ran_on(replica.captured_queries, "documents_document")
    finally:
        cluster.postgres.replica.psql("SELECT pg_wal_replay_resume()")
