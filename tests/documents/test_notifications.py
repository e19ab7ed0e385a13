import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from helpers import upload
from strongbox.documents import notification_groups, selectors, services, tasks
from strongbox.documents.models import Notification

pytestmark = pytest.mark.django_db


def test_it_tells_the_owner_when_the_text_is_indexed(uploaded, alice, bob):
    document = uploaded("pdf", title="Lease")
    [note] = selectors.notifications_for_user(alice)
    assert note.kind == Notification.Kind.TEXT_READY and note.document == document
    assert "“Lease” is indexed" in note.message
    assert selectors.unread_notification_count(alice) == 1
    assert selectors.notifications_for_user(bob) == []


def test_it_tells_the_owner_when_the_text_cannot_be_read(alice_client, alice, django_capture_on_commit_callbacks):
    damaged = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    with django_capture_on_commit_callbacks(execute=True):
        upload(alice_client, filename="broken.pdf", content=damaged, title="Broken")
    [note] = selectors.notifications_for_user(alice)
    assert note.kind == Notification.Kind.TEXT_FAILED
    assert "could not be read" in note.message


def test_it_notifies_once_even_if_extraction_runs_again(uploaded, alice):
    document = uploaded("txt")
    tasks.extract_document_text.run(document_id=document.pk)
    assert len(selectors.notifications_for_user(alice)) == 1


def test_it_warns_once_when_storage_passes_ninety_percent(uploaded, alice, settings):
    settings.QUOTA_DOCUMENTS = 10
    for _ in range(8):
        uploaded("txt")
    assert not Notification.objects.filter(kind=Notification.Kind.QUOTA_WARNING).exists()
    uploaded("txt")
    uploaded("txt")
    [warning] = Notification.objects.filter(kind=Notification.Kind.QUOTA_WARNING)
    assert warning.user == alice and "90% full" in warning.message


def test_it_marks_notifications_read_for_their_owner_only(uploaded, alice, bob, django_capture_on_commit_callbacks,
                                                          settings):
    settings.NOTIFICATION_GROUP_SECONDS = 0  # one notification per document
    uploaded("txt")
    uploaded("txt")
    first = selectors.notifications_for_user(alice)[0]
    assert selectors.unread_notification_count(alice) == 2  # now cached, until a write commits
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_mark_read(user=bob, ids=[first.pk]) == 0
        assert services.notifications_mark_read(user=alice, ids=[first.pk]) == 1
    assert selectors.unread_notification_count(alice) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notifications_mark_read(user=alice) == 1
    assert selectors.unread_notification_count(alice) == 0


def test_suggestions_match_a_prefix_and_stay_within_the_owner(uploaded, alice, bob):
    uploaded("txt", title="Mortgage statement")
    uploaded("txt", title="Mortar supplies")
    assert [d.title for d in selectors.search_suggestions(alice, "mort")] != []
    assert {d.title for d in selectors.search_suggestions(alice, "mortg")} == {"Mortgage statement"}
    assert selectors.search_suggestions(bob, "mort") == []


def test_a_batch_of_results_is_one_notification_that_counts_them(uploaded, alice, bob, alice_client):
    first = uploaded("txt", title="First")
    [single] = selectors.notifications_for_user(alice)
    assert single.count == 1 and single.document == first and "“First” is indexed" in single.message
    for i in range(11):
        uploaded("txt", title=f"More {i}")
    [group] = selectors.notifications_for_user(alice)
    assert group.pk == single.pk and group.count == 12 and group.document is None
    assert group.message == "12 documents are indexed and can be searched."
    assert selectors.unread_notification_count(alice) == 1
    page = alice_client.get(reverse("notifications:list")).content.decode()
    assert "12 documents are indexed" in page and "Show your documents" in page
    services.document_delete(document=first)  # a group is about no single document: it stays
    assert Notification.objects.get().count == 12
    assert selectors.notifications_for_user(bob) == []


def test_results_after_the_window_or_after_reading_start_a_new_notification(uploaded, alice, settings,
                                                                            django_capture_on_commit_callbacks):
    uploaded("txt", title="Old")
    Notification.objects.update(updated_at=timezone.now() - timedelta(seconds=settings.NOTIFICATION_GROUP_SECONDS
                                                                      + 1))
    uploaded("txt", title="New")
    assert [n.count for n in selectors.notifications_for_user(alice)] == [1, 1]
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_mark_read(user=alice)
    uploaded("txt", title="After reading")
    newest = selectors.notifications_for_user(alice)[0]
    assert newest.read_at is None and newest.count == 1 and "“After reading” is indexed" in newest.message


def test_failures_are_not_grouped_each_says_why(alice_client, alice, django_capture_on_commit_callbacks):
    damaged = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    for title in ("Broken one", "Broken two"):
        with django_capture_on_commit_callbacks(execute=True):
            upload(alice_client, filename="broken.pdf", content=damaged, title=title)
    notes = selectors.notifications_for_user(alice)
    assert [n.kind for n in notes] == [Notification.Kind.TEXT_FAILED] * 2 and all(n.count == 1 for n in notes)


def test_the_notifications_page_is_paged_not_cut_at_twenty(alice_client, alice, bob_client):
    Notification.objects.bulk_create(
        Notification(user=alice, kind=Notification.Kind.QUOTA_WARNING, message=f"Note {i:02}",
                     updated_at=timezone.now() - timedelta(minutes=i)) for i in range(45))
    page = alice_client.get(reverse("notifications:list"))
    assert page.status_code == 200
    first = page.content.decode()
    assert "Note 00" in first and "Note 19" in first and "Note 20" not in first and "Page 1 of 3" in first
    last = alice_client.get(reverse("notifications:list"), {"page": 3}).content.decode()
    assert "Note 40" in last and "Note 44" in last and "Note 39" not in last and 'rel="prev" href="?page=2"' in last
    for junk in ("99", "x", "-1"):
        assert alice_client.get(reverse("notifications:list"), {"page": junk}).status_code == 200
    assert "Note 00" not in bob_client.get(reverse("notifications:list")).content.decode()


def test_the_notifications_page_costs_the_same_queries_for_one_page_or_many(alice_client, alice):
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(reverse("notifications:list")).status_code == 200
        return len(captured)

    Notification.objects.create(user=alice, kind=Notification.Kind.QUOTA_WARNING, message="one")
    queries()  # the session, the user and the cached unread count are read once
    few = queries()
    Notification.objects.bulk_create(Notification(user=alice, kind=Notification.Kind.QUOTA_WARNING, message="n")
                                     for _ in range(60))
    queries()
    assert queries() == few


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's IMMEDIATE transactions serialize writers "
                                                               "from their start, so two cannot race there")
@pytest.mark.django_db(transaction=True)
def test_two_workers_finishing_a_batch_at_once_make_one_notification(alice, monkeypatch):
    from helpers import make_documents

    documents = make_documents(alice, 2)
    both_looked = threading.Barrier(2, timeout=3)
    look = notification_groups._open_group

    def looked(*args):
        found = look(*args)
        try:
            both_looked.wait()  # without the lock both find no group here, and both would start one
        except threading.BrokenBarrierError:
            pass  # the other worker waits for the lock instead: what should happen
        return found

    monkeypatch.setattr(notification_groups, "_open_group", looked)
    errors = []

    def finish(document):
        try:
            notification_groups.text_result_notify(document=document, kind=Notification.Kind.TEXT_READY,
                                                   message=f"“{document.title}” is indexed and can be searched.")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(document,)) for document in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    [group] = Notification.objects.filter(user=alice)
    assert group.count == 2 and group.message == "2 documents are indexed and can be searched."
