"""The admin's document pages go through the services: deleting leaves a tombstone, empties the search entry and
is audited as done by the staff member; nothing is edited around them."""

import pytest
from django.contrib.admin import helpers as admin_helpers
from django.test import Client
from django.urls import reverse

from helpers import make_user
from strongbox.accounts.models import AuditEvent
from strongbox.documents import selectors
from strongbox.documents.models import Document, DocumentText
from strongbox.documents.selectors import ListQuery

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db, password_hash) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="staff-browser")
    client.force_login(make_user("root", password_hash, is_staff=True, is_superuser=True))
    return client


def found(user, q: str) -> list[str]:
    return [d.title for d in selectors.document_page(user, ListQuery(q=q), 1).documents]


def assert_deleted_through_the_service(document, alice) -> None:
    """The document is in its owner's trash (restorable, as after their own delete), out of search, audited."""
    trashed = Document.in_trash.get(pk=document.pk)
    assert trashed.trashed_at is not None and trashed.version == document.version + 1
    assert DocumentText.objects.filter(document_id=document.pk).exists()  # kept for a restore
    assert found(alice, document.title.split()[0]) == []
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.DOCUMENT_TRASHED, detail__contains=document.public_id)
    assert event.user.username == "root" and "of alice" in event.detail
    assert (event.ip, event.user_agent) == ("192.0.2.9", "staff-browser")


def test_deleting_one_document_in_the_admin_goes_through_the_service(staff, uploaded, alice,
                                                                     django_capture_on_commit_callbacks):
    document = uploaded("md", title="Mortgage deed")
    assert found(alice, "mortgage") == ["Mortgage deed"]
    url = reverse("admin:documents_document_delete", args=[document.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert_deleted_through_the_service(document, alice)


def test_deleting_documents_in_bulk_in_the_admin_goes_through_the_service(staff, uploaded, alice,
                                                                          django_capture_on_commit_callbacks):
    documents = [uploaded("md", title="Mortgage deed"), uploaded("txt", title="Tenancy notes")]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("admin:documents_document_changelist"), {
            "action": "delete_selected", "post": "yes",
            admin_helpers.ACTION_CHECKBOX_NAME: [str(d.pk) for d in documents]})
    assert response.status_code == 302
    for document in documents:
        assert_deleted_through_the_service(document, alice)
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_TRASHED).count() == 2


def test_the_admin_cannot_edit_or_add_documents(staff, uploaded):
    document = uploaded("txt", title="Lease")
    url = reverse("admin:documents_document_change", args=[document.pk])
    page = staff.get(url)
    assert page.status_code == 200 and b'name="title"' not in page.content
    assert staff.post(url, {"title": "Changed", "category": "other"}).status_code == 403
    stored = Document.objects.get(pk=document.pk)
    assert (stored.title, stored.version) == ("Lease", document.version)
    assert staff.get(reverse("admin:documents_document_add")).status_code == 403


def test_tags_are_read_only_in_the_admin(staff, uploaded):
    # A rename or delete there would leave the search entries of the tag's documents behind.
    document = uploaded("txt", tags="taxes")
    tag = document.tags.get()
    change = reverse("admin:documents_tag_change", args=[tag.pk])
    assert staff.post(change, {"name": "renamed", "owner": tag.owner_id}).status_code == 403
    assert staff.post(reverse("admin:documents_tag_delete", args=[tag.pk]), {"post": "yes"}).status_code == 403
    assert staff.get(change).status_code == 200  # still there to look at
    assert document.tags.get().name == "taxes"
