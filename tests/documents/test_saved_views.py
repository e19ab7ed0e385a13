"""Saved views: a named search, filters and sort of the list page, in its sidebar."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commits import committed
from helpers import make_documents
from strongbox.documents import saved_views
from strongbox.documents.models import SavedView, UserCategory

pytestmark = pytest.mark.django_db
LIST = reverse("documents:list")
VIEWS = reverse("documents:saved_views")


def save(client, name: str, query: str = "q=tax&category=invoice&sort=-created"):
    with committed():
        return client.post(VIEWS, {"name": name, "query": query})


def test_it_offers_to_save_the_current_search_filters_and_sort(alice_client, alice):
    make_documents(alice, 1)
    page = alice_client.get(LIST, {"q": "tax", "category": "invoice", "sort": "title", "density": "compact"})
    html = page.content.decode()
    assert 'name="query" value="q=tax&amp;category=invoice&amp;sort=title" form="save-view"' in html
    assert '<form id="save-view" method="post" action="/documents/views/" hidden>' in html
    assert 'name="csrfmiddlewaretoken"' in html.split('id="save-view"')[1].split("</form>")[0]


def test_it_saves_a_view_and_opens_the_list_with_its_query(alice_client, alice):
    response = save(alice_client, "  Unpaid   invoices ")
    view = SavedView.objects.get(owner=alice)
    assert view.name == "Unpaid invoices"
    assert view.filters == {"q": "tax", "category": "invoice", "sort": "-created"}
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?q=tax&category=invoice&sort=-created"


def test_it_lists_saved_views_in_the_sidebar_marking_the_open_one(alice_client, alice):
    make_documents(alice, 1)
    alice_client.get(LIST)  # cached before the views exist: saving must refresh it
    save(alice_client, "Invoices", "category=invoice")
    save(alice_client, "by title", "sort=title")
    html = alice_client.get(LIST).content.decode()
    sidebar = html.split('id="saved-views"')[1].split("</ul>")[0]
    assert sidebar.index("by title") < sidebar.index("Invoices")  # by name, whatever the case
    assert f'href="{LIST}?category=invoice"' in sidebar and "aria-current" not in sidebar
    opened = alice_client.get(LIST, {"category": "invoice"}).content.decode()
    assert f'href="{LIST}?category=invoice" aria-current="page">Invoices' in opened


def test_it_keeps_the_users_own_category_in_a_view(alice_client, alice):
    UserCategory.objects.create(owner=alice, name="Tax return", slug="tax-return")
    assert save(alice_client, "Tax", "category=tax-return").status_code == 302
    assert SavedView.objects.get(owner=alice).filters == {"category": "tax-return"}


def test_it_refuses_a_name_already_used_in_any_case(alice_client, alice, bob):
    SavedView.objects.create(owner=bob, name="Invoices")  # another user's name is free
    assert save(alice_client, "Invoices").status_code == 302
    response = save(alice_client, "INVOICES")
    assert response.status_code == 400
    assert "You already have a view named “INVOICES”" in response.content.decode()
    assert 'value="INVOICES"' in response.content.decode()  # the input is kept
    assert SavedView.objects.filter(owner=alice).count() == 1


@pytest.mark.parametrize(("name", "message"), [("", "Give the view a name."), ("   ", "Give the view a name."),
                                               ("x" * 61, "Use at most 60 characters")])
def test_it_refuses_a_missing_or_long_name(alice_client, name, message):
    response = save(alice_client, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("query", ["category=nope", "sort=password", "date_from=yesterday",
                                   "date_from=2026-02-01&date_to=2026-01-01", "page=2", "q=" + "x" * 201])
def test_it_refuses_filters_the_list_would_not_accept(alice_client, query):
    response = save(alice_client, "Bad", query)
    assert response.status_code == 400
    assert b"The view was not saved" in response.content
    assert not SavedView.objects.exists()


def test_it_refuses_someone_elses_category(alice_client, bob):
    UserCategory.objects.create(owner=bob, name="Secret", slug="secret")
    assert save(alice_client, "Theirs", "category=secret").status_code == 400


def test_it_sends_anonymous_users_to_sign_in(anonymous_client, alice):
    view = SavedView.objects.create(owner=alice, name="Mine")
    for url in (VIEWS, reverse("documents:saved_view_rename", args=[view.pk]),
                reverse("documents:saved_view_delete", args=[view.pk])):
        for response in (anonymous_client.get(url), anonymous_client.post(url, {"name": "x", "query": ""})):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("accounts:login"))
    assert SavedView.objects.get().name == "Mine"


def test_it_lists_views_on_their_page(alice_client, alice, bob):
    SavedView.objects.create(owner=alice, name="Mine", filters={"tag": "bank"})
    SavedView.objects.create(owner=bob, name="Bob's view")
    html = alice_client.get(VIEWS).content.decode()
    assert "Mine" in html and "tag=bank" in html
    assert "Bob" not in html


def test_it_renames_a_view(alice_client, alice):
    view = SavedView.objects.create(owner=alice, name="Old")
    url = reverse("documents:saved_view_rename", args=[view.pk])
    assert 'value="Old"' in alice_client.get(url).content.decode()
    response = alice_client.post(url, {"name": "New"})
    assert response.status_code == 302
    view.refresh_from_db()
    assert view.name == "New"


@pytest.mark.parametrize(("name", "message"), [("", "Give the view a name."), ("other", "already have a view")])
def test_it_refuses_a_rename_to_an_empty_or_used_name(alice_client, alice, name, message):
    SavedView.objects.create(owner=alice, name="Other")
    view = SavedView.objects.create(owner=alice, name="Mine")
    response = alice_client.post(reverse("documents:saved_view_rename", args=[view.pk]), {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    view.refresh_from_db()
    assert view.name == "Mine"


def test_it_renames_a_view_to_another_case_of_its_own_name(alice_client, alice):
    view = SavedView.objects.create(owner=alice, name="mine")
    response = alice_client.post(reverse("documents:saved_view_rename", args=[view.pk]), {"name": "Mine"})
    assert response.status_code == 302


def test_it_asks_before_deleting_a_view(alice_client, alice):
    view = SavedView.objects.create(owner=alice, name="Mine")
    url = reverse("documents:saved_view_delete", args=[view.pk])
    page = alice_client.get(url)
    assert page.status_code == 200 and "Delete the view “Mine”?" in page.content.decode()
    assert SavedView.objects.exists()
    assert alice_client.post(url).status_code == 302
    assert not SavedView.objects.exists()


def test_it_answers_an_outsider_as_for_a_missing_view(bob_client, alice):
    view = SavedView.objects.create(owner=alice, name="Mine")
    for name in ("saved_view_rename", "saved_view_delete"):
        theirs = reverse(f"documents:{name}", args=[view.pk])
        missing = reverse(f"documents:{name}", args=[view.pk + 1000])
        for method in (bob_client.get, bob_client.post):
            refused, absent = method(theirs, {"name": "Hijacked"}), method(missing, {"name": "Hijacked"})
            assert refused.status_code == absent.status_code == 404
            assert refused.content == absent.content
    view.refresh_from_db()
    assert view.name == "Mine"


def test_the_sidebar_costs_no_query_per_view(alice_client, alice):
    make_documents(alice, 3)
    alice_client.get(LIST)

    def queries_with(count: int) -> int:
        with committed():
            for i in range(SavedView.objects.count(), count):
                saved_views.saved_view_create(owner=alice, name=f"View {i}", filters={"sort": "title"})
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(LIST, {"sort": "title"})
        assert response.content.decode().count(f'href="{LIST}?sort=title"') == count
        return len(queries)

    assert queries_with(1) == queries_with(20)


def test_it_escapes_view_names_and_queries_in_the_sidebar(alice_client, alice):
    make_documents(alice, 1)
    save(alice_client, "<b>bold</b>", 'q="><script>x</script>')
    html = alice_client.get(LIST).content.decode()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>x</script>" not in html
