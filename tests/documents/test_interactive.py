"""Server side of the interactive UI: the fragments htmx asks for, and the pages they enhance."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpers import make_documents, upload
from strongbox.documents import selectors
from strongbox.documents.models import Document, Notification

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
LIST = reverse("documents:list")
UPLOAD = reverse("documents:upload")
SUGGEST = reverse("documents:suggest")
NOTIFICATIONS = reverse("notifications:list")
BADGE = reverse("notifications:badge")
MARK_READ = reverse("notifications:mark_read")



def text(response) -> str:
    return response.content.decode()


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def hx_upload(client, *, filename: str = "notes.txt", content: bytes = b"plain words here\n", **fields):
    """POST the upload form as htmx does (helpers.upload with the HX-Request header)."""
    data = {"title": "Notes", "description": "", "category": "other", "tags": "",
            "file": SimpleUploadedFile(filename, content), **fields}
    return client.post(UPLOAD, data, headers=HX)


def assert_sign_in(response):
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def assert_reloads(response):
    """An htmx request without a session reloads the page (which then asks to sign in) rather than swapping in
    the sign-in page."""
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert response.content == b""


# Upload


def test_it_renders_the_upload_form_for_htmx_with_the_size_limit_and_a_progress_bar(alice_client, settings):
    page = text(alice_client.get(UPLOAD))
    assert f'data-max-size="{settings.MAX_UPLOAD_SIZE}"' in page
    assert 'hx-post="/documents/upload/"' in page and 'action="/documents/upload/"' in page
    assert re.search(r'<div class="upload-progress" hidden>\s*<label[^>]*>Uploading</label>\s*<progress', page)


def test_it_answers_an_htmx_upload_with_a_redirect_header_to_the_document(alice_client):
    response = hx_upload(alice_client, title="Via htmx")
    document = Document.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("documents:detail", args=[document.public_id])
    assert "Location" not in response
    follow = alice_client.get(response["HX-Redirect"])
    assert "Uploaded “Via htmx”" in text(follow)


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "x" * 101}, "Ensure this value has at most 100 characters (it has 101)."),
    ({"tags": ",".join(f"t{i}" for i in range(21))}, "Use at most 20 tags."),
])
def test_it_answers_an_htmx_upload_error_with_the_form_alone_and_the_input_kept(alice_client, fields, message):
    response = hx_upload(alice_client, description="kept description", **fields)
    body = text(response)
    assert response.status_code == 400
    assert body.lstrip().startswith("<form id=\"upload-form\"") and "<html" not in body
    assert message in body
    assert "kept description" in body
    assert "choose the file again" in body
    assert not Document.objects.exists()


def test_it_answers_an_htmx_upload_of_a_used_title_with_400_in_place(alice_client, uploaded):
    uploaded("txt", title="Tax Return")
    response = hx_upload(alice_client, title="TAX RETURN")
    assert response.status_code == 400
    assert "You already have a document with this title." in text(response)
    assert 'value="TAX RETURN"' in text(response)
    assert Document.objects.count() == 1


def test_it_answers_an_htmx_upload_over_the_limit_with_413_in_place(alice_client, settings):
    settings.MAX_UPLOAD_SIZE = 1000
    response = hx_upload(alice_client, content=b"a" * 1001, title="Big one")
    body = text(response)
    assert response.status_code == 413
    assert body.lstrip().startswith("<form id=\"upload-form\"")
    assert "larger than the" in body and 'value="Big one"' in body
    assert not Document.objects.exists()


def test_it_keeps_the_page_answers_for_uploads_without_htmx(alice_client):
    response = upload(alice_client, title="x" * 101)
    assert response.status_code == 400
    assert "<html" in text(response) and "choose the file again" in text(response)
    assert response["Vary"].count("HX-Request") == 1


def test_it_reloads_an_htmx_upload_without_a_session(anonymous_client):
    assert_reloads(hx_upload(anonymous_client))
    assert not Document.objects.exists()


def test_it_refuses_an_htmx_upload_without_a_csrf_token(alice):
    response = hx_upload(csrf_client(alice))
    assert response.status_code == 403
    assert not Document.objects.exists()


# Search as you type


def test_it_suggests_up_to_eight_of_the_owners_documents_as_links(alice_client, alice, uploaded):
    for i in range(10):
        uploaded("txt", title=f"Mortgage {i}")
    response = alice_client.get(SUGGEST, {"q": "mortg"}, headers=HX)
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    links = re.findall(r'<a href="/documents/([^/]+)/">Mortgage \d</a>', body)
    assert len(links) == 8
    assert set(links) <= set(Document.objects.filter(owner=alice).values_list("public_id", flat=True))


def test_it_suggests_by_a_prefix_of_the_last_word_and_escapes_titles(alice_client, uploaded):
    uploaded("txt", title="<b>Lease</b> agreement")
    body = text(alice_client.get(SUGGEST, {"q": "lease agr"}))
    assert "&lt;b&gt;Lease&lt;/b&gt; agreement" in body and "<b>" not in body


@pytest.mark.parametrize("q", ["", "m", " m ", "m\t"])
def test_it_suggests_nothing_under_two_characters(alice_client, uploaded, q):
    uploaded("txt", title="Mortgage")
    response = alice_client.get(SUGGEST, {"q": q}, headers=HX)
    assert response.status_code == 200
    assert response.content.strip() == b""


def test_it_says_when_no_document_matches_a_suggestion(alice_client, uploaded):
    uploaded("txt", title="Mortgage")
    assert "No documents match “zebra”." in text(alice_client.get(SUGGEST, {"q": "zebra"}))


def test_it_never_suggests_another_users_documents(bob_client, uploaded):
    uploaded("txt", title="Alice's mortgage")
    body = text(bob_client.get(SUGGEST, {"q": "mortgage"}, headers=HX))
    assert "Alice" not in body and "<a " not in body


def test_it_asks_anonymous_users_to_sign_in_for_suggestions(anonymous_client):
    assert_sign_in(anonymous_client.get(SUGGEST, {"q": "mort"}))
    assert_reloads(anonymous_client.get(SUGGEST, {"q": "mort"}, headers=HX))


def test_it_wires_the_search_box_to_the_suggestions(alice_client):
    page = text(alice_client.get(LIST))
    assert f'hx-get="{SUGGEST}"' in page
    assert 'hx-trigger="input changed delay:250ms, search"' in page
    assert '<div id="suggestions"' in page
    assert '<form method="get" class="filters" role="search">' in page  # the search still submits without JS


# Infinite scroll


def test_it_renders_the_pager_as_a_sentinel_over_a_real_next_link(alice_client, alice):
    make_documents(alice, 60)
    page = text(alice_client.get(LIST, {"sort": "title"}))
    nav = re.search(r'<nav class="pager" id="pager"[^>]*>', page).group(0)
    assert 'hx-get="/documents/?sort=title&amp;page=2"' in nav and 'hx-trigger="revealed"' in nav
    assert '<a rel="next" href="/documents/?sort=title&amp;page=2">Next →</a>' in page
    assert '<section class="cards density-comfortable" id="cards">' in page


def test_it_answers_htmx_with_the_next_pages_cards_and_pager_only(alice_client, alice):
    make_documents(alice, 60)
    response = alice_client.get(LIST, {"sort": "title", "page": 2}, headers=HX)
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body and "Filter and sort" not in body
    assert '<div hx-swap-oob="beforeend:#cards">' in body
    assert re.findall(r"Doc \d{3}", body) == [f"Doc {i:03}" for i in range(50, 60)]
    assert "Showing 60 of 60" in body
    assert "hx-get" not in body and 'rel="next"' not in body and 'rel="prev"' not in body
    assert "HX-Request" in response["Vary"]


def test_it_keeps_loading_while_there_are_more_pages(alice_client, alice):
    make_documents(alice, 120)
    body = text(alice_client.get(LIST, {"page": 2, "category": "other"}, headers=HX))
    assert 'hx-get="/documents/?category=other&amp;page=3"' in body
    assert "Showing 100 of 120" in body


def test_it_answers_a_history_restore_with_the_whole_page(alice_client, alice):
    make_documents(alice, 3)
    response = alice_client.get(LIST, headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in text(response) and "Filter and sort" in text(response)


def test_it_loads_more_of_the_owners_documents_only(bob_client, alice):
    make_documents(alice, 60)
    body = text(bob_client.get(LIST, {"page": 2}, headers=HX))
    assert "Doc 0" not in body


def test_it_issues_the_same_number_of_queries_for_a_short_and_a_full_next_page(alice_client, alice):
    def count(params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(LIST, params, headers=HX).status_code == 200
        return len(queries)

    alice_client.get(LIST)  # the first request of a session may write the session; the pages are compared after
    make_documents(alice, 51)
    short = count({"page": 2})
    Document.objects.all().delete()
    make_documents(alice, 100)
    assert count({"page": 2}) == short


def test_it_asks_anonymous_users_to_sign_in_for_more_documents(anonymous_client):
    assert_reloads(anonymous_client.get(LIST, {"page": 2}, headers=HX))


# Notifications


def test_it_shows_the_unread_count_in_the_header(alice_client, uploaded, settings):
    settings.NOTIFICATION_GROUP_SECONDS = 0  # one notification per document (grouping: test_notifications.py)
    uploaded("txt")
    uploaded("txt")
    page = text(alice_client.get(LIST))
    assert re.search(r'<span id="notification-count" class="count" hx-get="/notifications/badge/" '
                     r'hx-trigger="every 5s" hx-swap="outerHTML">2<span class="visually-hidden"> unread</span>', page)
    assert f'<a class="notification-link" href="{NOTIFICATIONS}">' in page


def test_it_shows_no_badge_to_anonymous_users(anonymous_client):
    page = text(anonymous_client.get(reverse("accounts:login")))
    assert "notification-count" not in page and NOTIFICATIONS not in page


def test_it_shows_the_count_on_every_page_even_without_javascript(alice_client, uploaded):
    uploaded("txt")
    page = text(alice_client.get(reverse("accounts:settings")))
    assert ">1<span class=\"visually-hidden\"> unread</span>" in page


def test_it_answers_the_badge_with_the_count_alone(alice_client, uploaded):
    empty = alice_client.get(BADGE, headers=HX)
    assert empty.status_code == 200
    assert re.fullmatch(r'\s*<span id="notification-count"[^>]*></span>\s*', text(empty))
    uploaded("txt")
    body = text(alice_client.get(BADGE, headers=HX))
    assert ">1<span class=\"visually-hidden\"> unread</span></span>" in body and "<html" not in body
    assert "no-cache" in alice_client.get(BADGE)["Cache-Control"]


def test_it_counts_only_the_users_own_notifications(bob_client, uploaded):
    uploaded("txt")
    assert "unread" not in text(bob_client.get(BADGE, headers=HX))


def test_it_asks_anonymous_users_to_sign_in_for_the_badge(anonymous_client):
    assert_sign_in(anonymous_client.get(BADGE))
    assert_reloads(anonymous_client.get(BADGE, headers=HX))


def test_it_lists_notifications_with_links_to_their_documents(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    page = text(alice_client.get(NOTIFICATIONS))
    assert "“Lease” is indexed and can be searched." in page
    assert f'href="{reverse("documents:detail", args=[document.public_id])}"' in page
    assert "Mark all as read" in page


def test_it_shows_an_outsider_none_of_the_owners_notifications(bob_client, uploaded):
    uploaded("txt", title="Lease")
    page = text(bob_client.get(NOTIFICATIONS))
    assert "Lease" not in page and "No notifications yet." in page
    assert "Mark all as read" not in page


def test_it_does_not_mark_notifications_read_by_showing_them(alice_client, alice, uploaded):
    uploaded("txt")
    alice_client.get(NOTIFICATIONS)
    alice_client.get(BADGE, headers=HX)
    assert selectors.unread_notification_count(alice) == 1


def test_it_marks_all_notifications_read_with_post_redirect_get(alice_client, alice, bob, uploaded, settings):
    settings.NOTIFICATION_GROUP_SECONDS = 0  # one notification per document (grouping: test_notifications.py)
    uploaded("txt")
    uploaded("txt")
    Notification.objects.create(user=bob, kind=Notification.Kind.QUOTA_WARNING, message="Bob's")
    response = alice_client.post(MARK_READ)
    assert response.status_code == 302 and response["Location"] == NOTIFICATIONS
    assert selectors.unread_notification_count(alice) == 0
    assert selectors.unread_notification_count(bob) == 1
    page = text(alice_client.get(NOTIFICATIONS))
    assert "Marked 2 notifications as read." in page
    assert "Mark all as read" not in page


def test_it_marks_nothing_read_on_get(alice_client, alice, uploaded):
    uploaded("txt")
    assert alice_client.get(MARK_READ).status_code == 405
    assert selectors.unread_notification_count(alice) == 1


def test_it_refuses_marking_read_without_a_csrf_token(alice, uploaded):
    uploaded("txt")
    assert csrf_client(alice).post(MARK_READ).status_code == 403
    assert selectors.unread_notification_count(alice) == 1


def test_it_asks_anonymous_users_to_sign_in_for_notifications(anonymous_client):
    assert_sign_in(anonymous_client.get(NOTIFICATIONS))
    assert_sign_in(anonymous_client.post(MARK_READ))


# Inline title edit


def title_url(document, name: str = "documents:title") -> str:
    return reverse(name, args=[document.public_id])


def test_it_offers_an_edit_title_button_that_works_without_javascript(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    page = text(alice_client.get(reverse("documents:detail", args=[document.public_id])))
    assert re.search(rf'<a class="button secondary" href="{reverse("documents:edit", args=[document.public_id])}"'
                     rf'\s+hx-get="{title_url(document)}" hx-target="#document-title" hx-swap="outerHTML">'
                     r"Edit title</a>", page)


def test_it_answers_htmx_with_the_title_form_alone(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    response = alice_client.get(title_url(document), headers=HX)
    body = text(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<form class="title-form" id="document-title"') and "<html" not in body
    assert 'value="Lease"' in body and "autofocus" in body
    assert "description" not in body and "category" not in body
    assert "HX-Request" in response["Vary"]


def test_it_shows_the_title_form_as_a_page_without_htmx(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    page = text(alice_client.get(title_url(document)))
    assert "<html" in page and "Rename “Lease”" in page


def test_it_saves_the_title_inline_and_keeps_the_other_fields(alice_client, uploaded):
    document = uploaded("txt", title="Lease", description="Signed", category="contract", tags="home, legal")
    response = alice_client.post(title_url(document), {"title": "Lease 2026"}, headers=HX)
    body = text(response)
    assert response.status_code == 200
    assert "<h1>Lease 2026</h1>" in body and "<title>Lease 2026 · Strongbox</title>" in body
    assert "<html" not in body
    document.refresh_from_db()
    assert (document.title, document.description, document.category) == ("Lease 2026", "Signed", "contract")
    assert sorted(tag.name for tag in document.tags.all()) == ["home", "legal"]
    found = alice_client.get(LIST, {"q": "2026"}).context["result"].documents
    assert [d.title for d in found] == ["Lease 2026"]
    assert "Saved." not in text(alice_client.get(reverse("documents:detail", args=[document.public_id])))


@pytest.mark.parametrize(("title", "message"), [
    ("", "This field is required."),
    ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
    ("TAKEN", "You already have a document with this title."),
])
def test_it_refuses_a_bad_title_in_place_and_keeps_the_typed_value(alice_client, uploaded, title, message):
    uploaded("txt", title="Taken")
    document = uploaded("txt", title="Mine")
    response = alice_client.post(title_url(document), {"title": title}, headers=HX)
    body = text(response)
    assert response.status_code == 400
    assert body.lstrip().startswith('<form class="title-form"') and "<html" not in body
    assert message in body
    field = re.search(r'<input type="text" name="title"[^>]*>', body).group(0)
    assert (f'value="{title}"' in field) if title else ("value=" not in field)
    document.refresh_from_db()
    assert document.title == "Mine"


def test_it_keeps_its_own_title_in_another_case(alice_client, uploaded):
    document = uploaded("txt", title="Mine")
    assert alice_client.post(title_url(document), {"title": "MINE"}, headers=HX).status_code == 200
    document.refresh_from_db()
    assert document.title == "MINE"


def test_it_saves_the_title_with_post_redirect_get_without_htmx(alice_client, uploaded):
    document = uploaded("txt", title="Mine")
    response = alice_client.post(title_url(document), {"title": "Renamed"})
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:detail", args=[document.public_id])
    refused = alice_client.post(title_url(document), {"title": ""})
    assert refused.status_code == 400 and "<html" in text(refused) and "This field is required." in text(refused)


def test_it_swaps_the_heading_back_on_cancel(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    body = text(alice_client.get(title_url(document, "documents:heading"), headers=HX))
    assert "<h1>Lease</h1>" in body and "Edit title" in body and "<html" not in body


@pytest.mark.parametrize(("method", "name"), [("get", "documents:title"), ("post", "documents:title"),
                                              ("get", "documents:heading")])
def test_it_answers_an_outsider_like_a_missing_document(bob_client, uploaded, method, name):
    document = uploaded("txt", title="Mine")
    send = getattr(bob_client, method)
    theirs = send(reverse(name, args=[document.public_id]), {"title": "Stolen"}, headers=HX)
    missing = send(reverse(name, args=[MISSING]), {"title": "Stolen"}, headers=HX)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert b"Mine" not in theirs.content
    document.refresh_from_db()
    assert document.title == "Mine"


def test_it_asks_anonymous_users_to_sign_in_for_the_title(anonymous_client, uploaded):
    document = uploaded("txt", title="Mine")
    assert_sign_in(anonymous_client.get(title_url(document)))
    assert_sign_in(anonymous_client.post(title_url(document), {"title": "Stolen"}))
    assert_reloads(anonymous_client.post(title_url(document), {"title": "Stolen"}, headers=HX))
    assert_reloads(anonymous_client.get(title_url(document, "documents:heading"), headers=HX))
    document.refresh_from_db()
    assert document.title == "Mine"


def test_it_refuses_a_title_change_without_a_csrf_token(alice, uploaded):
    document = uploaded("txt", title="Mine")
    assert csrf_client(alice).post(title_url(document), {"title": "Renamed"}, headers=HX).status_code == 403
    document.refresh_from_db()
    assert document.title == "Mine"


def test_it_changes_nothing_on_get(alice_client, uploaded):
    document = uploaded("txt", title="Mine")
    alice_client.get(title_url(document), {"title": "Renamed"}, headers=HX)
    document.refresh_from_db()
    assert document.title == "Mine"
