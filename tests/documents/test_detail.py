from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpers import stored_files
from strongbox.documents import services
from strongbox.documents.models import Document, DocumentText, Notification, Tag

pytestmark = pytest.mark.django_db
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
ROUTES = ["documents:detail", "documents:edit", "documents:delete", "documents:download", "documents:text_status"]


@pytest.mark.parametrize("route", ROUTES)
def test_it_answers_an_outsider_exactly_like_a_missing_document(route, uploaded, bob_client):
    document = uploaded("txt")
    theirs = bob_client.get(reverse(route, args=[document.public_id]))
    missing = bob_client.get(reverse(route, args=[MISSING]))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert document.title.encode() not in theirs.content


@pytest.mark.parametrize("route", ["documents:edit", "documents:delete"])
def test_it_refuses_outsider_posts_with_404_and_changes_nothing(route, uploaded, bob_client, isolated_storage):
    document = uploaded("txt", title="Mine")
    response = bob_client.post(reverse(route, args=[document.public_id]), {"title": "Stolen", "category": "other"})
    assert response.status_code == 404
    assert Document.objects.get().title == "Mine"
    assert stored_files(isolated_storage) == [document.file.name]


@pytest.mark.parametrize("route", ROUTES)
def test_it_sends_anonymous_users_to_sign_in(route, uploaded, anonymous_client):
    response = anonymous_client.get(reverse(route, args=[uploaded("txt").public_id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_uses_random_non_sequential_public_ids(uploaded, alice_client):
    first, second = uploaded("txt"), uploaded("txt")
    assert len(first.public_id) >= 22 and first.public_id != second.public_id
    assert alice_client.get(reverse("documents:detail", args=[str(first.pk)])).status_code == 404


def test_it_shows_the_details(alice_client, uploaded):
    document = uploaded("pdf", description="Signed copy", tags="legal")
    page = alice_client.get(reverse("documents:detail", args=[document.public_id]))
    assert page.status_code == 200
    for text in (document.title, "Signed copy", "legal", document.sha256, "Indexed for search"):
        assert text.encode() in page.content


def test_it_edits_with_post_redirect_get(alice_client, uploaded):
    document = uploaded("txt", tags="old")
    url = reverse("documents:edit", args=[document.public_id])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(url, {"title": "Renamed", "description": "New", "category": "report",
                                       "tags": "new, fresh", "version": document.version})
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:detail", args=[document.public_id])
    document.refresh_from_db()
    assert (document.title, document.description, document.category) == ("Renamed", "New", "report")
    assert sorted(t.name for t in document.tags.all()) == ["fresh", "new"]
    listed = alice_client.get(reverse("documents:list"), {"q": "renamed"}).context["result"].documents
    assert [d.title for d in listed] == ["Renamed"]


def test_it_refuses_an_edit_to_a_title_in_use_and_keeps_the_input(alice_client, uploaded):
    uploaded("txt", title="Taken")
    document = uploaded("txt", title="Mine")
    response = alice_client.post(reverse("documents:edit", args=[document.public_id]),
                                 {"title": "TAKEN", "description": "typed", "category": "other", "tags": "",
                                  "version": document.version})
    assert response.status_code == 400
    assert "already have a document with this title" in response.context["form"].errors["title"][0]
    assert b"typed" in response.content
    document.refresh_from_db()
    assert document.title == "Mine"


def test_it_keeps_its_own_title_when_editing_other_fields(alice_client, uploaded):
    document = uploaded("txt", title="Same")
    response = alice_client.post(reverse("documents:edit", args=[document.public_id]),
                                 {"title": "same", "category": "other", "version": document.version})
    assert response.status_code == 302


def test_it_asks_before_deleting_and_never_deletes_on_get(alice_client, uploaded):
    document = uploaded("txt")
    page = alice_client.get(reverse("documents:delete", args=[document.public_id]))
    assert page.status_code == 200
    assert b'method="post"' in page.content
    assert Document.objects.filter(pk=document.pk).exists()


def test_it_moves_a_deleted_document_to_the_trash_and_purging_it_deletes_row_file_and_index_entry(
        alice_client, uploaded, isolated_storage, django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Gone soon", tags="temp")
    assert Notification.objects.filter(document_id=document.pk).exists()  # "is indexed"
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("documents:delete", args=[document.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:list")
    assert not Document.objects.exists()
    assert Document.in_trash.get().pk == document.pk
    assert len(stored_files(isolated_storage)) == 1  # kept while it is in the trash
    assert alice_client.get(reverse("documents:list"), {"q": "gone"}).context["result"].documents == []
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("documents:trash_purge", args=[document.public_id]))
    assert response.status_code == 302
    assert not Document.in_trash.exists()
    assert stored_files(isolated_storage) == []
    assert Tag.objects.filter(name="temp").exists()  # tags outlive documents; the sidebar hides unused ones
    # What stays is a tombstone: no file, text, tags or index entry, a new version, and the title free again.
    tombstone = Document.with_tombstones.get(pk=document.pk)
    assert tombstone.deleted_at and tombstone.version == document.version + 2  # trashed, then purged
    assert not DocumentText.objects.filter(document_id=document.pk).exists() and not tombstone.tags.exists()
    assert not Notification.objects.filter(document_id=document.pk).exists()
    assert uploaded("txt", title="Gone soon").pk != document.pk


def test_a_change_that_meets_a_tombstone_is_a_conflict_and_tombstones_are_purged_later(uploaded):
    document = uploaded("txt", title="Contested")
    stale_version = document.version
    services.document_delete(document=document)
    with pytest.raises(services.VersionConflict):
        services.document_update(document=document, title="Revived", description="", category="other", tags=[],
                                 if_version=stale_version)
    with pytest.raises(services.VersionConflict):
        services.document_update(document=document, title="Revived", description="", category="other", tags=[])
    assert services.tombstones_purge() == 0
    Document.with_tombstones.filter(pk=document.pk).update(deleted_at=timezone.now() - timedelta(days=8))
    assert services.tombstones_purge() == 1
    assert not Document.with_tombstones.filter(pk=document.pk).exists()


@pytest.mark.parametrize(("route", "data"), [("documents:edit", {"title": "Changed", "category": "other"}),
                                             ("documents:delete", {})])
def test_it_refuses_a_change_without_a_csrf_token(route, data, uploaded, alice, isolated_storage):
    document = uploaded("txt", title="Original")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse(route, args=[document.public_id]), data)
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert Document.objects.get().title == "Original"
    assert stored_files(isolated_storage) == [document.file.name]


def test_a_pending_document_polls_its_text_status_until_it_is_ready(alice_client):
    from helpers import upload

    upload(alice_client, title="Fresh")  # the extraction task does not run: on_commit callbacks are not executed
    document = Document.objects.get()
    status_url = reverse("documents:text_status", args=[document.public_id])
    page = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    assert f'hx-get="{status_url}" hx-trigger="every 2s"' in page and "reload in a moment" in page
    pending = alice_client.get(status_url, headers={"HX-Request": "true"})
    assert pending.status_code == 200 and b"<html" not in pending.content
    assert b'hx-trigger="every 2s"' in pending.content and "no-cache" in pending["Cache-Control"]
    services._text_store(document.pk, "words", "ready", "")
    ready = alice_client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "Indexed for search" in ready and "hx-trigger" not in ready  # no trigger: the polling stops


def test_the_text_status_says_when_the_text_could_not_be_read(alice_client, uploaded):
    document = uploaded("txt")
    Document.objects.filter(pk=document.pk).update(text_status="failed", text_error="The file is damaged.")
    fragment = alice_client.get(reverse("documents:text_status", args=[document.public_id])).content.decode()
    assert "Could not read text: The file is damaged." in fragment and "hx-trigger" not in fragment


def test_an_expired_session_polling_the_text_status_reloads_the_page(uploaded, anonymous_client):
    url = reverse("documents:text_status", args=[uploaded("txt").public_id])
    response = anonymous_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
