"""Text extraction stores its result on the document as it is when extraction ends, not as it was when it began."""

import pytest

from helpers import upload
from samples import SAMPLES
from strongbox.documents import selectors, services
from strongbox.documents.models import Document, Notification, TextStatus
from strongbox.documents.selectors import ListQuery

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(alice_client):
    """Upload a document as alice without running its extraction: it waits for its text."""

    def make(extension: str = "md", **fields) -> Document:
        filename, content, _ = SAMPLES[extension]
        assert upload(alice_client, filename=filename, content=content, **fields).status_code == 302
        document = Document.objects.get(title=fields["title"])
        assert document.text_status == TextStatus.PENDING
        return document

    return make


def during_extraction(monkeypatch, action) -> None:
    """Run `action` while the next extraction is reading the file, then let it finish."""
    extract = services.run_document_extraction
    done = []

    def extracting(*args, **kwargs):
        if not done:
            done.append(True)
            action()
        return extract(*args, **kwargs)

    monkeypatch.setattr(services, "run_document_extraction", extracting)


def found(user, q: str) -> list[str]:
    return [d.title for d in selectors.document_page(user, ListQuery(q=q), 1).documents]


def test_a_rename_made_during_extraction_survives_and_is_what_search_finds(pending, monkeypatch, alice):
    document = pending(title="Mortgage", description="")
    during_extraction(monkeypatch, lambda: services.document_update(
        document=Document.objects.get(pk=document.pk), title="Tenancy"))
    services.document_extract_text(document_id=document.pk)
    document.refresh_from_db()
    assert document.title == "Tenancy" and document.text_status == TextStatus.READY
    assert found(alice, "tenancy") == ["Tenancy"]
    assert found(alice, "mortgage") == []


def test_two_overlapping_runs_notify_the_owner_once(pending, monkeypatch, alice):
    document = pending(title="Lease")
    # A second run (a retry, a sweep) starts and finishes while the first is still reading the file.
    during_extraction(monkeypatch, lambda: services.document_extract_text(document_id=document.pk))
    services.document_extract_text(document_id=document.pk)
    assert Notification.objects.filter(user=alice, kind=Notification.Kind.TEXT_READY).count() == 1
    document.refresh_from_db()
    assert document.text_status == TextStatus.READY


def test_a_run_that_finds_the_result_already_stored_changes_nothing(pending):
    document = pending(title="Lease")
    services.document_extract_text(document_id=document.pk)
    version = Document.objects.get(pk=document.pk).version
    services.document_extract_text(document_id=document.pk)
    assert Document.objects.get(pk=document.pk).version == version
    assert Notification.objects.filter(document=document).count() == 1


def test_a_document_deleted_during_extraction_stays_deleted(pending, monkeypatch):
    document = pending(title="Lease")
    during_extraction(monkeypatch, lambda: services.document_delete(document=Document.objects.get(pk=document.pk)))
    services.document_extract_text(document_id=document.pk)
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not Notification.objects.filter(document_id=document.pk).exists()


def test_abandoning_marks_the_text_failed_bumps_the_version_and_notifies_once(pending, alice):
    document = pending(title="Mortgage")
    assert services.document_extraction_abandon(document_id=document.pk, error="the worker kept dying") is True
    assert services.document_extraction_abandon(document_id=document.pk, error="again") is False
    stored = Document.objects.get(pk=document.pk)
    assert (stored.text_status, stored.text_error) == (TextStatus.FAILED, "the worker kept dying")
    assert stored.version == document.version + 1
    [notice] = Notification.objects.filter(user=alice)
    assert notice.kind == Notification.Kind.TEXT_FAILED and "the worker kept dying" in notice.message
    assert found(alice, "mortgage") == ["Mortgage"]  # its entry from the upload stays


def test_abandoning_leaves_a_document_with_its_text_alone(pending):
    document = pending(title="Lease")
    services.document_extract_text(document_id=document.pk)
    before = Document.objects.get(pk=document.pk)
    assert services.document_extraction_abandon(document_id=document.pk, error="late") is False
    after = Document.objects.get(pk=document.pk)
    assert (after.text_status, after.version) == (TextStatus.READY, before.version)
    assert services.document_extraction_abandon(document_id=10**9, error="gone") is False
