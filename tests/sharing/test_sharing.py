"""Sharing a document with another user: the share dialog, what the recipient sees and may do, revoking, and the
outsider who still gets the same 404 as for a missing document."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpers import make_documents, make_user
from strongbox.accounts.models import AuditEvent
from strongbox.documents import cache
from strongbox.documents.models import Document
from strongbox.documents.services import document_index
from strongbox.sharing import services
from strongbox.sharing.models import Share

pytestmark = pytest.mark.django_db
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
LIST = reverse("documents:list")


@pytest.fixture
def carol(db, password_hash):
    return make_user("carol", password_hash)


@pytest.fixture
def carol_client(carol):
    client = Client()
    client.force_login(carol)
    return client


def share(client, document, recipient: str, permission: str = "read", **headers):
    return client.post(reverse("sharing:page", args=[document.public_id]),
                       {"recipient": recipient, "permission": permission}, **headers)


def errors(response) -> list[str]:
    return re.findall(r'<p class="error"[^>]*>([^<]*)</p>', response.content.decode())


@pytest.fixture
def shared(uploaded, alice_client, bob, django_capture_on_commit_callbacks):
    """alice's text document, shared with bob to read."""
    document = uploaded("txt", title="Holiday plans", tags="travel")
    with django_capture_on_commit_callbacks(execute=True):
        assert share(alice_client, document, "bob").status_code == 302
    return document


def test_it_shares_by_username_and_shows_the_share_in_the_dialog(shared, alice_client, bob):
    assert Share.objects.get().user == bob and not Share.objects.get().can_edit
    page = alice_client.get(reverse("documents:detail", args=[shared.public_id])).content.decode()
    assert 'id="sharing"' in page and "bob" in page and "Revoke" in page
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.SHARE_CREATED, detail__contains="with bob").exists()


def test_it_shares_by_email_address_in_any_case(uploaded, alice_client, bob):
    document = uploaded("txt")
    assert share(alice_client, document, "  BOB@Example.com ", "edit").status_code == 302
    assert Share.objects.get(user=bob).can_edit


@pytest.mark.parametrize(("recipient", "message"), [
    ("nobody", "Nobody with this username or e-mail address can receive shares"),
    ("alice", "This is your own document"),
    ("", "This field is required"),
])
def test_it_refuses_unknown_users_and_yourself_with_a_message(uploaded, alice_client, bob, recipient, message):
    response = share(alice_client, uploaded("txt"), recipient)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Share.objects.exists()


def test_it_says_the_same_for_an_inactive_account_as_for_a_missing_one(uploaded, alice_client, carol):
    carol.is_active = False
    carol.save()
    document = uploaded("txt")
    inactive, missing = share(alice_client, document, "carol"), share(alice_client, document, "nobody")
    assert inactive.status_code == missing.status_code == 400
    assert errors(inactive) == errors(missing) == [services.UNKNOWN_RECIPIENT]


def test_it_refuses_a_second_share_with_the_same_user(shared, alice_client):
    response = share(alice_client, shared, "bob", "edit")
    assert response.status_code == 400
    assert "shared with bob already" in response.content.decode()
    assert Share.objects.count() == 1 and not Share.objects.get().can_edit


def test_it_limits_lookups_of_names_that_match_nobody(uploaded, alice_client, bob, settings):
    settings.SHARE_LOOKUP_FAILURES_PER_USER = 3
    document = uploaded("txt")
    for attempt in range(3):
        assert share(alice_client, document, f"guess{attempt}").status_code == 400
    assert "tried too many names" in share(alice_client, document, "guess4").content.decode()


def test_it_answers_htmx_with_the_panel_alone(uploaded, alice_client, bob):
    document = uploaded("txt")
    refused = share(alice_client, document, "nobody", HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and refused.content.decode().lstrip().startswith("<section")
    done = share(alice_client, document, "bob", HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and "bob" in done.content.decode() and "<html" not in done.content.decode()


def test_the_recipient_sees_it_under_shared_with_me_and_in_the_list(shared, bob_client, uploaded):
    mine = bob_client.get(LIST, {"shared": "1"})
    assert mine.status_code == 200
    page = mine.content.decode()
    assert "Holiday plans" in page and "Shared by alice" in page and "<h1>Shared with me</h1>" in page
    assert "Holiday plans" in bob_client.get(LIST).content.decode()
    assert "Holiday plans" not in bob_client.get(LIST, {"shared": "0"}).content.decode()
    assert "1 document ·" in bob_client.get(LIST).content.decode()


def test_the_owner_does_not_see_it_as_shared_with_them(shared, alice_client):
    alice_client.get(LIST)  # shows the upload's and the share's messages
    assert "Holiday plans" not in alice_client.get(LIST, {"shared": "1"}).content.decode()
    assert "Shared by" not in alice_client.get(LIST).content.decode()


def test_the_recipient_finds_it_in_search_and_suggestions(shared, bob_client):
    assert "Holiday plans" in bob_client.get(LIST, {"q": "quokka"}).content.decode()  # a word of its text
    assert "Holiday plans" in bob_client.get(LIST, {"q": "quokka", "sort": "title"}).content.decode()
    assert "Holiday plans" in bob_client.get(LIST, {"q": "holiday", "shared": "1"}).content.decode()
    assert "Holiday plans" in bob_client.get(reverse("documents:suggest"), {"q": "holi"}).content.decode()


def test_a_reader_opens_and_downloads_but_cannot_edit_delete_or_share(shared, bob_client):
    detail = bob_client.get(reverse("documents:detail", args=[shared.public_id]))
    page = detail.content.decode()
    assert detail.status_code == 200 and "Shared with you by alice" in page and "you can read it" in page
    assert "Delete" not in page and 'id="sharing"' not in page and "Edit title" not in page
    download = bob_client.get(reverse("documents:download", args=[shared.public_id]))
    assert download.status_code == 200 and b"quokka" in b"".join(download.streaming_content)
    for route in ("documents:edit", "documents:title", "documents:delete", "sharing:page"):
        assert bob_client.get(reverse(route, args=[shared.public_id])).status_code == 403, route
    assert bob_client.post(reverse("documents:edit", args=[shared.public_id]),
                           {"title": "Mine now", "category": "other"}).status_code == 403
    assert bob_client.post(reverse("documents:delete", args=[shared.public_id])).status_code == 403
    assert share(bob_client, shared, "alice").status_code == 403
    assert Document.objects.get().title == "Holiday plans" and Share.objects.count() == 1


def test_an_editor_changes_the_fields_but_cannot_delete_or_reshare(shared, alice_client, bob_client, carol,
                                                                   django_capture_on_commit_callbacks):
    share_row = Share.objects.get()
    alice_client.post(reverse("sharing:permission", args=[shared.public_id, share_row.pk]), {"permission": "edit"})
    assert Share.objects.get().can_edit
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(reverse("documents:edit", args=[shared.public_id]),
                                   {"title": "Holiday plans 2027", "description": "by bob", "category": "letter",
                                    "tags": "travel, summer"})
    assert response.status_code == 302
    document = Document.objects.get()
    assert (document.title, document.category, document.owner.username) == ("Holiday plans 2027", "letter", "alice")
    # The tags are the owner's, as every tag of the document is.
    assert sorted(tag.owner.username for tag in document.tags.all()) == ["alice", "alice"]
    assert bob_client.post(reverse("documents:delete", args=[shared.public_id])).status_code == 403
    assert share(bob_client, shared, "carol").status_code == 403
    assert "Holiday plans 2027" in alice_client.get(LIST).content.decode()
    assert "Holiday plans 2027" in bob_client.get(LIST, {"q": "summer"}).content.decode()


def test_an_editor_cannot_take_a_title_the_owner_already_uses(shared, alice_client, bob_client, uploaded):
    uploaded("txt", title="Taxes")
    Share.objects.update(can_edit=True)
    response = bob_client.post(reverse("documents:edit", args=[shared.public_id]),
                               {"title": "taxes", "category": "other"})
    assert response.status_code == 400


def test_revoking_asks_first_then_hides_it_like_a_missing_document(shared, alice_client, bob_client,
                                                                   django_capture_on_commit_callbacks):
    share_row = Share.objects.get()
    revoke = reverse("sharing:revoke", args=[shared.public_id, share_row.pk])
    assert "Stop sharing" in alice_client.get(revoke).content.decode()
    assert Share.objects.exists()
    bob_client.get(LIST)  # bob's list is cached with the shared document in it
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(revoke).status_code == 302
    assert not Share.objects.exists()
    theirs = bob_client.get(reverse("documents:detail", args=[shared.public_id]))
    missing = bob_client.get(reverse("documents:detail", args=[MISSING]))
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert "Holiday plans" not in bob_client.get(LIST).content.decode()
    assert "Holiday plans" not in bob_client.get(LIST, {"q": "quokka"}).content.decode()
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.SHARE_REVOKED).exists()


@pytest.mark.parametrize("route", ["documents:detail", "documents:download", "documents:edit", "sharing:page"])
def test_an_outsider_gets_the_same_404_as_for_a_missing_document(shared, carol_client, route):
    theirs = carol_client.get(reverse(route, args=[shared.public_id]))
    missing = carol_client.get(reverse(route, args=[MISSING]))
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.ACCESS_REFUSED, user__username="carol").exists()
    assert "Holiday plans" not in carol_client.get(LIST, {"q": "quokka"}).content.decode()


def test_an_outsider_cannot_change_or_revoke_someone_elses_share(shared, carol_client, bob_client):
    share_row = Share.objects.get()
    for route, data in (("sharing:permission", {"permission": "edit"}), ("sharing:revoke", {})):
        assert carol_client.post(reverse(route, args=[shared.public_id, share_row.pk]), data).status_code == 404
        assert bob_client.post(reverse(route, args=[shared.public_id, share_row.pk]), data).status_code == 403
    assert Share.objects.filter(can_edit=False).count() == 1


def test_a_share_id_of_another_document_is_not_found(shared, alice_client, uploaded):
    other = uploaded("txt", title="Other")
    share_row = Share.objects.get()
    assert alice_client.post(reverse("sharing:revoke", args=[other.public_id, share_row.pk])).status_code == 404
    assert Share.objects.exists()


@pytest.mark.parametrize("route", ["sharing:page"])
def test_anonymous_users_are_sent_to_sign_in(shared, anonymous_client, route):
    response = anonymous_client.get(reverse(route, args=[shared.public_id]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_bad_permission_changes_nothing(shared, alice_client):
    share_row = Share.objects.get()
    response = alice_client.post(reverse("sharing:permission", args=[shared.public_id, share_row.pk]),
                                 {"permission": "owner"})
    assert response.status_code == 302 and not Share.objects.get().can_edit


def test_the_owners_changes_reach_the_readers_cached_pages(shared, alice_client, bob_client,
                                                           django_capture_on_commit_callbacks):
    assert "Holiday plans" in bob_client.get(LIST).content.decode()  # cached for bob now
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("documents:title", args=[shared.public_id]),
                          {"title": "Winter plans", "version": Document.objects.get().version})
    assert "Winter plans" in bob_client.get(LIST).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("documents:delete", args=[shared.public_id]))
    assert "Winter plans" not in bob_client.get(LIST).content.decode()
    assert bob_client.get(reverse("documents:detail", args=[shared.public_id])).status_code == 404


def test_bump_document_bumps_the_owner_and_every_reader(shared, alice, bob, carol,
                                                        django_capture_on_commit_callbacks):
    before = {user.pk: cache.version(user.pk) for user in (alice, bob, carol)}
    with django_capture_on_commit_callbacks(execute=True):
        cache.bump_document(shared)
    after = {user.pk: cache.version(user.pk) for user in (alice, bob, carol)}
    assert after[alice.pk] != before[alice.pk] and after[bob.pk] != before[bob.pk]
    assert after[carol.pk] == before[carol.pk]


@pytest.mark.parametrize("params", [{}, {"shared": "1"}, {"q": "doc"}, {"sort": "title"}])
def test_the_list_issues_the_same_number_of_queries_for_one_and_many_shared_documents(
        alice, bob, bob_client, params, django_capture_on_commit_callbacks):
    def add(count: int, start: int) -> int:
        documents = Document.objects.bulk_create([
            Document(owner=alice, title=f"Doc {start + i}", file=f"documents/x/{start + i}", extension="txt",
                     original_filename="a.txt", content_type="text/plain", size=1, sha256="0" * 64)
            for i in range(count)])
        with django_capture_on_commit_callbacks(execute=True):
            for document in documents:
                services.share_create(document=document, actor=alice, recipient="bob")
                document_index(document)
        with CaptureQueriesContext(connection) as queries:
            response = bob_client.get(LIST, params)
        assert response.status_code == 200
        # bob's own two (not in the search index) are listed too, except under "Shared with me" and in searches.
        own = 0 if params.get("shared") or params.get("q") else 2
        assert len(response.context["result"].documents) == start + count + own
        return len(queries)

    make_documents(bob, 2)
    bob_client.get(LIST)  # the session's first request records its start: not part of the list's cost
    assert add(1, 0) == add(30, 1)
