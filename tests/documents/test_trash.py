"""The trash: deleting moves a document there; restore, delete for good, empty, and the periodic purge."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpers import stored_files, upload
from strongbox.accounts.models import AuditEvent
from strongbox.documents import selectors, services, tasks
from strongbox.documents.models import Document, DocumentText, DocumentVersion

pytestmark = pytest.mark.django_db
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
TRASH = reverse("documents:trash")
LIST = reverse("documents:list")


@pytest.fixture
def trash(django_capture_on_commit_callbacks):
    """Delete a document on the web as its owner, running what waits for the commit (the cache bump)."""

    def post(client, document):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("documents:delete", args=[document.public_id]))

    return post


def listed(client, **params) -> list[str]:
    return [row.title for row in client.get(LIST, params).context["result"].documents]


def test_it_moves_a_deleted_document_to_the_trash_and_keeps_its_file(trash, alice_client, uploaded, isolated_storage):
    document = uploaded("txt", title="Old lease", tags="home")
    response = trash(alice_client, document)
    assert response.status_code == 302 and response["Location"] == LIST
    follow = alice_client.get(LIST)
    assert "Moved “Old lease” to the trash" in follow.content.decode()
    trashed = Document.in_trash.get()
    assert trashed.pk == document.pk and trashed.trashed_at is not None
    assert stored_files(isolated_storage) == [document.file.name]
    assert DocumentText.objects.filter(document_id=document.pk).exists()  # kept for a restore
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.DOCUMENT_TRASHED)
    assert event.user.username == "alice" and document.public_id in event.detail


def test_a_trashed_document_leaves_lists_search_suggestions_totals_tags_and_its_pages(trash, alice_client, alice,
                                                                                      uploaded):
    kept = uploaded("txt", title="Kept notes", tags="home")
    document = uploaded("txt", title="Binned notes", tags="home, old")
    assert sorted(listed(alice_client, q="notes")) == ["Binned notes", "Kept notes"]
    trash(alice_client, document)
    assert listed(alice_client) == ["Kept notes"]
    assert listed(alice_client, q="binned") == []
    assert listed(alice_client, tag="old") == []
    assert [d.title for d in selectors.search_suggestions(alice, "binn")] == []
    assert selectors.user_totals(alice) == {"count": 1, "size": kept.size}
    assert [(t.name, t.uses) for t in selectors.tags_for_user(alice)] == [("home", 1)]
    for route in ("documents:detail", "documents:edit", "documents:download", "documents:delete"):
        assert alice_client.get(reverse(route, args=[document.public_id])).status_code == 404


def test_it_lists_the_trash_with_trash_and_purge_dates_and_counts_it_in_the_header(trash, alice_client, uploaded,
                                                                                    settings):
    settings.TRASH_DAYS = 10
    document = uploaded("txt", title="Binned notes")
    page = alice_client.get(TRASH)
    assert page.status_code == 200 and "The trash is empty." in page.content.decode()
    trash(alice_client, document)
    page = alice_client.get(TRASH)
    html = page.content.decode()
    assert "Binned notes" in html and "deleted for good 10 days after" in html
    trashed_at = Document.in_trash.get().trashed_at
    [(row, purge_at)] = page.context["rows"]
    assert purge_at == trashed_at + timedelta(days=10)
    assert reverse("documents:trash_restore", args=[document.public_id]) in html
    assert reverse("documents:trash_purge", args=[document.public_id]) in html
    assert reverse("documents:trash_empty") in html
    assert f'href="{TRASH}">Trash <span class="count">1</span>' in alice_client.get(LIST).content.decode()


def test_the_trash_page_costs_the_same_queries_for_one_document_or_many(alice, alice_client):
    def add_and_count(count: int) -> int:
        for i in range(count):
            document = Document.objects.create(owner=alice, title=f"T{Document.with_tombstones.count()}-{i}",
                                               file=f"documents/x/t{i}-{count}", original_filename="a.txt",
                                               extension="txt", content_type="text/plain", size=1, sha256="0" * 64)
            services.document_trash(document=document, actor=alice)
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(TRASH).status_code == 200
        return len(queries)

    alice_client.get(TRASH)  # the session's first request records its start: not part of the page's cost
    assert add_and_count(1) == add_and_count(20)


def test_it_restores_a_document_into_lists_and_search(trash, alice_client, alice, uploaded):
    document = uploaded("txt", title="Binned notes")
    trash(alice_client, document)
    response = alice_client.post(reverse("documents:trash_restore", args=[document.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:detail", args=[document.public_id])
    assert listed(alice_client, q="binned") == ["Binned notes"]
    assert not Document.in_trash.exists()
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_RESTORED, user=alice).count() == 1


def test_a_trashed_documents_title_is_free_and_a_restore_finds_another(trash, alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    trash(alice_client, document)
    again = uploaded("txt", title="LEASE")  # the trashed one does not hold the title
    response = alice_client.post(reverse("documents:trash_restore", args=[document.public_id]), follow=True)
    assert "Restored “Lease” as “Lease (restored)”" in response.content.decode()
    assert sorted(Document.objects.values_list("title", flat=True)) == ["LEASE", "Lease (restored)"]
    trash(alice_client, again)
    uploaded("txt", title="Lease")
    alice_client.post(reverse("documents:trash_restore", args=[again.public_id]))
    # "LEASE (restored)" is taken too: titles are compared without case.
    assert sorted(Document.objects.values_list("title", flat=True)) == ["LEASE (restored 2)", "Lease",
                                                                         "Lease (restored)"]


def test_a_long_title_keeps_its_restored_suffix_within_100_characters(alice, alice_client, uploaded):
    title = "x" * 100
    document = uploaded("txt", title=title)
    services.document_trash(document=document, actor=alice)
    uploaded("txt", title=title)
    services.document_restore(document=document, actor=alice)
    assert document.title == "x" * 89 + " (restored)"


def test_trashed_documents_do_not_count_against_the_quota_and_a_restore_must_fit(trash, alice_client, alice, uploaded,
                                                                                 settings):
    settings.QUOTA_DOCUMENTS = 1
    document = uploaded("txt", title="First")
    assert upload(alice_client, title="Second").status_code == 413
    trash(alice_client, document)
    assert upload(alice_client, title="Second").status_code == 302
    response = alice_client.post(reverse("documents:trash_restore", args=[document.public_id]), follow=True)
    assert "could not be restored" in response.content.decode()
    assert Document.in_trash.filter(pk=document.pk).exists()


def test_it_asks_before_deleting_for_good_and_then_removes_every_file(trash, alice_client, uploaded, isolated_storage,
                                                                      django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Binned notes")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("documents:version_upload", args=[document.public_id]),
                          {"file": SimpleUploadedFile("v2.txt", b"second words\n")})
    assert len(stored_files(isolated_storage)) == 2
    trash(alice_client, document)
    url = reverse("documents:trash_purge", args=[document.public_id])
    page = alice_client.get(url)
    assert page.status_code == 200 and "cannot be undone" in page.content.decode()
    assert Document.in_trash.exists()  # a GET changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url)
    assert response.status_code == 302 and response["Location"] == TRASH
    assert stored_files(isolated_storage) == []
    assert not DocumentVersion.objects.filter(document_id=document.pk).exists()
    assert Document.with_tombstones.get(pk=document.pk).deleted_at is not None
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_DELETED).count() == 1


def test_it_empties_the_trash_after_asking(trash, alice_client, uploaded, isolated_storage,
                                           django_capture_on_commit_callbacks):
    kept = uploaded("txt", title="Kept")
    for title in ("One", "Two"):
        trash(alice_client, uploaded("txt", title=title))
    url = reverse("documents:trash_empty")
    page = alice_client.get(url)
    assert "2 documents and all their versions" in page.content.decode()
    assert Document.in_trash.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url, follow=True)
    assert "2 documents deleted for good" in response.content.decode()
    assert not Document.in_trash.exists()
    assert stored_files(isolated_storage) == [kept.file.name]
    assert "The trash is empty." in alice_client.get(url).content.decode()


def test_the_periodic_job_purges_only_documents_trashed_longer_than_trash_days(alice, uploaded, settings,
                                                                               isolated_storage,
                                                                               django_capture_on_commit_callbacks):
    settings.TRASH_DAYS = 30
    old, recent = uploaded("txt", title="Old"), uploaded("txt", title="Recent")
    services.document_trash(document=old, actor=alice)
    services.document_trash(document=recent, actor=alice)
    Document.in_trash.filter(pk=old.pk).update(trashed_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.purge_trash.call_local()
    assert list(Document.in_trash.values_list("title", flat=True)) == ["Recent"]
    assert stored_files(isolated_storage) == [recent.file.name]
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.DOCUMENT_DELETED)
    assert event.user is None and "of alice" in event.detail
    assert services.trash_purge_expired() == 0  # idempotent


def test_orphan_file_removal_keeps_the_files_of_trashed_documents_and_old_versions(alice, alice_client, uploaded,
                                                                                   isolated_storage,
                                                                                   django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Versioned")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("documents:version_upload", args=[document.public_id]),
                          {"file": SimpleUploadedFile("v2.txt", b"second words\n")})
    services.document_trash(document=document, actor=alice)
    assert services.orphan_files_remove(older_than=timedelta(0)) == 0
    assert len(stored_files(isolated_storage)) == 2


def test_an_extraction_that_ends_while_the_document_is_in_the_trash_changes_nothing(alice, uploaded):
    document = uploaded("txt", title="Binned")
    services.document_trash(document=document, actor=alice)
    services._text_store(document.pk, "late words", "ready", "", file_name=document.file.name)
    assert DocumentText.objects.get(document_id=document.pk).body != "late words"


def test_a_restore_queues_the_extraction_that_never_finished(alice, uploaded, monkeypatch):
    document = uploaded("txt", title="Pending")
    services.document_trash(document=document, actor=alice)
    Document.in_trash.filter(pk=document.pk).update(text_status="pending")
    queued = []
    monkeypatch.setattr(tasks, "extract_document_text", lambda **kwargs: queued.append(kwargs))
    services.document_restore(document=document, actor=alice)
    assert queued == [{"document_id": document.pk, "group": tasks.extraction_group(alice.pk)}]


@pytest.mark.parametrize(("route", "method"), [("documents:trash_restore", "post"),
                                               ("documents:trash_purge", "get"), ("documents:trash_purge", "post")])
def test_it_answers_an_outsider_exactly_like_a_missing_document(route, method, alice, uploaded, bob_client,
                                                                isolated_storage):
    document = uploaded("txt", title="Mine")
    services.document_trash(document=document, actor=alice)
    theirs = getattr(bob_client, method)(reverse(route, args=[document.public_id]))
    missing = getattr(bob_client, method)(reverse(route, args=[MISSING]))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert Document.in_trash.get().title == "Mine"
    assert stored_files(isolated_storage) == [document.file.name]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.ACCESS_REFUSED, user__username="bob").exists()


def test_an_outsiders_trash_is_their_own(alice, uploaded, bob_client):
    services.document_trash(document=uploaded("txt", title="Mine"), actor=alice)
    assert "Mine" not in bob_client.get(TRASH).content.decode()
    bob_client.post(reverse("documents:trash_empty"))
    assert Document.in_trash.count() == 1


def test_restoring_or_purging_a_document_not_in_the_trash_is_a_404(alice_client, uploaded):
    document = uploaded("txt", title="Live")
    assert alice_client.post(reverse("documents:trash_restore", args=[document.public_id])).status_code == 404
    assert alice_client.post(reverse("documents:trash_purge", args=[document.public_id])).status_code == 404
    assert Document.objects.get().title == "Live"


@pytest.mark.parametrize("url", [TRASH, reverse("documents:trash_empty"),
                                 reverse("documents:trash_purge", args=[MISSING])])
def test_it_sends_anonymous_users_to_sign_in(url, anonymous_client):
    response = anonymous_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_anonymous_restore_changes_nothing(alice, uploaded, anonymous_client):
    document = uploaded("txt", title="Mine")
    services.document_trash(document=document, actor=alice)
    response = anonymous_client.post(reverse("documents:trash_restore", args=[document.public_id]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert Document.in_trash.exists()


def test_restore_takes_only_posts(alice, alice_client, uploaded):
    document = uploaded("txt", title="Mine")
    services.document_trash(document=document, actor=alice)
    assert alice_client.get(reverse("documents:trash_restore", args=[document.public_id])).status_code == 405
    assert Document.in_trash.exists()
