"""Users' own categories beside the built-in ones: added, renamed and deleted on /documents/categories/, used by
every form and filter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commits import committed
from helpers import make_documents, upload
from strongbox.documents import cache, categories
from strongbox.documents.models import Document, UserCategory

pytestmark = pytest.mark.django_db
LIST = reverse("documents:list")
PAGE = reverse("documents:categories")


def add(client, name: str):
    with committed():
        return client.post(PAGE, {"name": name})


def test_it_adds_a_category_with_a_slug_made_from_its_name(alice_client, alice):
    response = add(alice_client, "  Tax   return ")
    assert response.status_code == 302 and response["Location"] == PAGE
    category = UserCategory.objects.get(owner=alice)
    assert (category.name, category.slug) == ("Tax return", "tax-return")
    html = alice_client.get(PAGE).content.decode()
    assert "Tax return" in html and "Invoice" in html  # beside the built-in ones


@pytest.mark.parametrize(("names", "slug"), [(["Tax 2024", "Tax-2024!"], "tax-2024-2"), (["日本の書類"], "日本の書類"),
                                             (["!!!"], "category"), (["A" * 40], "a" * 20)])
def test_it_makes_slugs_unique_and_never_empty(alice, names, slug):
    for name in names:
        created = categories.category_create(owner=alice, name=name)
    assert created.slug == slug


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter a name."), ("x" * 41, "at most 40 characters"), ("invoice", "is a built-in category already"),
    ("OTHER", "is a built-in category already"), ("tax return", "You already have a category named “tax return”."),
])
def test_it_refuses_an_empty_long_built_in_or_used_name(alice_client, alice, name, message):
    categories.category_create(owner=alice, name="Tax return")
    response = add(alice_client, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert UserCategory.objects.filter(owner=alice).count() == 1


def test_another_users_category_names_are_free(alice_client, bob):
    categories.category_create(owner=bob, name="Tax return")
    assert add(alice_client, "Tax return").status_code == 302


def test_forms_filters_and_pages_offer_and_show_the_users_own_categories(alice_client, alice, uploaded):
    add(alice_client, "Tax return")
    for url in (reverse("documents:upload"), LIST):
        assert '<option value="tax-return">Tax return</option>' in alice_client.get(url).content.decode()
    document = uploaded("txt", title="Return 2025", category="tax-return")
    assert document.category == "tax-return"
    uploaded("txt", title="Plain")
    response = alice_client.get(LIST, {"category": "tax-return"})
    assert [d.title for d in response.context["result"].documents] == ["Return 2025"]
    html = response.content.decode()
    assert '<span class="badge">Tax return</span>' in html
    assert 'href="?category=tax-return" aria-current="page">Tax return</a>' in html  # the sidebar
    detail = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    assert '<span class="badge">Tax return</span>' in detail
    edit = alice_client.get(reverse("documents:edit", args=[document.public_id])).content.decode()
    assert '<option value="tax-return" selected>Tax return</option>' in edit


def test_forms_refuse_someone_elses_category(alice_client, bob, uploaded):
    categories.category_create(owner=bob, name="Secret")
    assert upload(alice_client, category="secret").status_code == 400
    assert alice_client.get(LIST, {"category": "secret"}).status_code == 400
    document = uploaded("txt", title="Mine")
    response = alice_client.post(reverse("documents:edit", args=[document.public_id]),
                                 {"title": "Mine", "category": "secret", "tags": "", "description": ""})
    assert response.status_code == 400
    document.refresh_from_db()
    assert document.category == "other"


def test_it_renames_a_category_keeping_its_slug_and_documents(alice_client, alice, uploaded):
    category = categories.category_create(owner=alice, name="Tax")
    document = uploaded("txt", title="Return", category="tax")
    url = reverse("documents:category_rename", args=["tax"])
    assert 'value="Tax"' in alice_client.get(url).content.decode()
    with committed():
        assert alice_client.post(url, {"name": "Taxes"}).status_code == 302
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Taxes", "tax")
    document.refresh_from_db()
    assert document.category == "tax"
    assert '<span class="badge">Taxes</span>' in alice_client.get(LIST).content.decode()


@pytest.mark.parametrize(("name", "message"), [("", "Enter a name."), ("receipt", "built-in"),
                                               ("OTHER ONE", "already have a category")])
def test_it_refuses_a_rename_to_an_empty_built_in_or_used_name(alice_client, alice, name, message):
    categories.category_create(owner=alice, name="Other one")
    categories.category_create(owner=alice, name="Tax")
    response = alice_client.post(reverse("documents:category_rename", args=["tax"]), {"name": name})
    assert response.status_code == 400 and message in response.content.decode()
    assert UserCategory.objects.get(slug="tax").name == "Tax"


def test_deleting_a_category_moves_its_documents_to_other(alice_client, alice, uploaded):
    categories.category_create(owner=alice, name="Tax")
    first = uploaded("txt", title="First", category="tax")
    uploaded("txt", title="Second", category="tax")
    kept = uploaded("txt", title="Kept", category="invoice")
    url = reverse("documents:category_delete", args=["tax"])
    page = alice_client.get(url).content.decode()
    assert "Its 2 documents will move to the category Other" in page
    version = Document.objects.get(pk=first.pk).version
    with committed():
        response = alice_client.post(url, follow=True)
    assert "Deleted the category “Tax”; 2 documents moved to Other." in response.content.decode()
    assert not UserCategory.objects.exists()
    assert sorted(Document.objects.filter(category="other").values_list("title", flat=True)) == ["First", "Second"]
    assert Document.objects.get(pk=first.pk).version == version + 1  # an API client's ETag sees the change
    assert Document.objects.get(pk=kept.pk).category == "invoice"
    assert "tax" not in alice_client.get(LIST).content.decode().split('id="id_category"')[1].split("</select>")[0]


def test_it_sends_anonymous_users_to_sign_in(anonymous_client, alice):
    categories.category_create(owner=alice, name="Tax")
    for url in (PAGE, reverse("documents:category_rename", args=["tax"]),
                reverse("documents:category_delete", args=["tax"])):
        for response in (anonymous_client.get(url), anonymous_client.post(url, {"name": "x"})):
            assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert UserCategory.objects.get().name == "Tax"


def test_it_answers_an_outsider_as_for_a_missing_category(bob_client, alice):
    categories.category_create(owner=alice, name="Tax")
    for name in ("category_rename", "category_delete"):
        for method in (bob_client.get, bob_client.post):
            refused = method(reverse(f"documents:{name}", args=["tax"]), {"name": "Mine now"})
            absent = method(reverse(f"documents:{name}", args=["nope"]), {"name": "Mine now"})
            assert refused.status_code == absent.status_code == 404
            assert refused.content == absent.content
    assert UserCategory.objects.get().name == "Tax"
    assert "Tax" not in bob_client.get(PAGE).content.decode().split("Your categories")[1].split("Built-in")[0]


def test_the_list_costs_the_same_queries_for_one_and_fifty_documents_in_own_categories(alice_client, alice):
    for i in range(5):
        categories.category_create(owner=alice, name=f"Mine {i}")

    def queries_with(count: int) -> int:
        Document.objects.all().delete()
        make_documents(alice, count, category="mine-1")
        with committed():
            cache.bump(alice.pk)
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(LIST, {"sort": "title"})
        assert response.content.decode().count('<span class="badge">Mine 1</span>') == count
        return len(queries)

    alice_client.get(LIST)
    assert queries_with(1) == queries_with(50)


def test_suggestions_show_the_users_own_category_by_name(alice_client, alice, uploaded):
    categories.category_create(owner=alice, name="Tax return")
    uploaded("txt", title="Return 2025", category="tax-return")
    uploaded("txt", title="Returned goods", category="receipt")
    html = alice_client.get(reverse("documents:suggest"), {"q": "retu"}).content.decode()
    assert '<span class="badge">Tax return</span>' in html and '<span class="badge">Receipt</span>' in html
