import pytest

from helpers import upload
from strongbox.documents import selectors, services, tasks
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


def test_it_marks_notifications_read_for_their_owner_only(uploaded, alice, bob, django_capture_on_commit_callbacks):
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
