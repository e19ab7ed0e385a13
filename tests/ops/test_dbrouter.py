"""The replica router's decisions, with no database server: which replica a request reads from, when a replica is
too far behind, which writes pin a client to the primary, and which database search goes through. The real
streaming replica is in tests/scaleout/test_router.py."""

import contextlib
import contextvars
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection, router
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from helpers import make_documents
from strongbox.accounts.middleware import SEEN, STARTED
from strongbox.documents.models import Document
from strongbox.documents.search import IndexEntry, get_backend
from strongbox.ops import dbrouter
from strongbox.ops.dbrouter import PIN_COOKIE, RECEIVER_HIDDEN, ReplicaPinMiddleware, ReplicaRouter, replica_problem

REPLICAS = ["replica1", "replica2", "replica3"]


@pytest.fixture
def three_replicas(monkeypatch):
    """Three replicas, usable unless their alias is in the returned set."""
    down = set()
    monkeypatch.setattr(dbrouter, "replica_aliases", lambda: list(REPLICAS))
    monkeypatch.setattr(dbrouter.replicas, "usable", lambda alias: alias not in down)
    return down


def request_reading(reads: int, *, on_read=None) -> list[str]:
    """Run one GET request through ReplicaPinMiddleware whose view routes `reads` reads; return their aliases."""
    aliases = []

    def view(request):
        for number in range(reads):
            aliases.append(ReplicaRouter().db_for_read(Document))
            if on_read:
                on_read(number, aliases[-1])
        return HttpResponse()

    # Each request runs in a context of its own, as each request of a threaded server does.
    contextvars.copy_context().run(ReplicaPinMiddleware(view), RequestFactory().get("/"))
    return aliases


def test_it_reads_one_replica_throughout_a_request(three_replicas):
    per_request = [request_reading(20) for _ in range(30)]
    assert all(len(set(aliases)) == 1 and aliases[0] in REPLICAS for aliases in per_request)
    # Requests still spread over the replicas.
    assert len({aliases[0] for aliases in per_request}) > 1


def test_it_moves_to_another_replica_and_stays_there_when_its_own_becomes_unusable(three_replicas):
    aliases = request_reading(20, on_read=lambda number, alias: number == 4 and three_replicas.add(alias))
    first, second = aliases[0], aliases[5]
    assert aliases[:5] == [first] * 5 and second in REPLICAS and second != first
    assert aliases[5:] == [second] * 15


def test_it_reads_the_primary_when_no_replica_is_usable(three_replicas):
    three_replicas.update(REPLICAS)
    assert request_reading(3) == ["default"] * 3


@pytest.mark.parametrize(("state", "problem"), [
    ({}, None),
    # A primary that wrote nothing for an hour: nothing to replay, an old last transaction, no lag.
    ({"replay_age": 3600.0}, None),
    # Behind for a moment after each write: not lag.
    ({"replayed": 90, "replay_age": 0.2}, None),
    ({"replayed": 90, "replay_age": 6.0}, "behind the primary"),
    # Behind, but no transaction replayed yet since the replica started: nothing says how old its data is.
    ({"replayed": 90, "replay_age": None}, None),
    # The stream broke: nothing received is left to replay, so replay is not behind what was received.
    ({"receiver": None, "replayed": 90, "replay_age": 0.1}, "not running"),
    ({"receiver": None}, "not running"),
    ({"receiver": "waiting"}, "not streaming"),
    ({"receiver": "starting"}, "not streaming"),
    # A role without pg_read_all_stats sees that a receiver runs, not its status: the lag rule still applies.
    ({"receiver": RECEIVER_HIDDEN}, None),
    ({"receiver": RECEIVER_HIDDEN, "replayed": 90, "replay_age": 6.0}, "behind the primary"),
    # A promoted replica replays nothing and receives nothing.
    ({"in_recovery": False, "receiver": None, "replayed": None}, None),
])
def test_it_skips_a_replica_that_does_not_stream_or_lags(state, problem):
    values = {"in_recovery": True, "receiver": "streaming", "replayed": 100, "primary": 100, "replay_age": 1.0,
              "max_lag": 5, **state}
    found = replica_problem(**values)
    assert (found is None) if problem is None else (problem in found)


@contextlib.contextmanager
def tracking_writes():
    """Track writes on the default connection as scale-out mode does (already so in the scale-out run)."""
    if dbrouter._note_write in connection.execute_wrappers:
        yield
    else:
        with connection.execute_wrapper(dbrouter._note_write):
            yield


@pytest.fixture
def saved_session(db, django_capture_on_commit_callbacks):
    """Return a function that saves a session, tracking writes, and says whether the save pinned the request
    (a pin cookie) and the process (its later reads wait for a replica to replay it)."""
    def save(session: SessionBase) -> tuple[bool, bool]:
        def run():
            dbrouter._wrote.set(False)  # as at the start of a request
            with tracking_writes(), django_capture_on_commit_callbacks(execute=True):
                session.save()
            return dbrouter._wrote.get()

        writes_before = dbrouter.replicas.process_writes
        request_wrote = contextvars.copy_context().run(run)
        return request_wrote, dbrouter.replicas.process_writes != writes_before

    yield save
    dbrouter.replicas.process_wrote = False


def session_store() -> SessionBase:
    from importlib import import_module

    return import_module(django_settings.SESSION_ENGINE).SessionStore()


def test_a_session_save_that_only_records_activity_pins_nothing(saved_session):
    session = session_store()
    session["_auth_user_id"] = "1"
    session.create()
    session = type(session)(session.session_key)
    session[STARTED] = session[SEEN] = int(time.time())
    assert saved_session(session) == (False, False)
    session[SEEN] += 60
    assert saved_session(session) == (False, False)


@pytest.mark.parametrize("change", ["add", "remove"])
def test_a_session_save_that_changes_what_it_holds_pins_the_request_and_the_process(saved_session, change):
    session = session_store()
    session.update({"_auth_user_id": "1", "strongbox.new_key": "secret", SEEN: 1})
    session.create()
    session = type(session)(session.session_key)
    session[SEEN] = 2
    if change == "add":
        session["strongbox.recent_auth"] = 3
    else:
        del session["strongbox.new_key"]
    assert saved_session(session) == (True, True)


def test_a_new_session_pins_the_request_and_the_process(saved_session):
    session = session_store()
    session[SEEN] = 1
    assert saved_session(session) == (True, True)


def test_a_request_that_only_touched_its_session_sets_no_pin_cookie(alice_client, settings, monkeypatch):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:1], "strongbox.ops.dbrouter.ReplicaPinMiddleware",
                           *[name for name in settings.MIDDLEWARE[1:] if "ReplicaPinMiddleware" not in name]]
    monkeypatch.setattr(dbrouter, "primary_lsn", lambda: 0x2A)
    with tracking_writes():
        touched = alice_client.get(reverse("documents:list"))  # the first request since sign-in: STARTED, SEEN
        assert SEEN in alice_client.session
        assert touched.status_code == 200 and PIN_COOKIE not in touched.cookies
        # While signing out does change the session (it deletes it): the next request must not find it on a replica.
        signed_out = alice_client.post(reverse("accounts:logout"))
        assert signed_out.status_code == 302 and signed_out.cookies[PIN_COOKIE].value == "2a"


def test_it_searches_through_the_database_for_reading_and_indexes_through_the_one_for_writing(alice, monkeypatch):
    (document,) = make_documents(alice, 1)
    routed = []
    for method in ("db_for_read", "db_for_write"):
        real = getattr(router, method)
        monkeypatch.setattr(router, method, lambda model, method=method, real=real, **hints: (
            routed.append((method, model)), real(model, **hints))[1])

    get_backend().index(IndexEntry(document_id=document.pk, owner_id=alice.pk, title="Lease", description="",
                                   tags="", body="signed in spring"))
    assert routed == [("db_for_write", Document)]
    routed.clear()
    assert get_backend().search(owner_id=alice.pk, query="spring") == [document.pk]
    assert get_backend().snippets(document_ids=[document.pk], query="spring")
    # One statement or more each (SQLite spells a long prefix out from its terms table first), all for reading.
    assert len(routed) >= 2 and set(routed) == {("db_for_read", Document)}


def test_a_thread_never_reads_a_replica_while_another_fetches_the_position_of_a_write(monkeypatch):
    # One thread of a process wrote; two threads then read at once. The one that does not fetch the primary's
    # position must not slip through to a replica in between (it once found the write already marked as covered).
    replicas = dbrouter._Replicas()
    fetching, go_on, fetched = threading.Event(), threading.Event(), []

    def primary_lsn():
        fetched.append(threading.current_thread().name)
        if len(fetched) == 1:
            fetching.set()
            go_on.wait(5)
        return 100

    monkeypatch.setattr(dbrouter, "primary_lsn", primary_lsn)
    replicas.note_process_write()
    first = threading.Thread(target=replicas.required_lsn, name="first")
    first.start()
    assert fetching.wait(5)
    # Each read in a context of its own, as a request or task has: no position a cookie or earlier test required.
    assert contextvars.Context().run(replicas.required_lsn) == 100  # the old flag answered 0: any replica would do
    go_on.set()
    first.join(5)
    assert contextvars.Context().run(replicas.required_lsn) == 100 and len(fetched) == 2  # covered: no third fetch
