import pytest
from django.urls import reverse

from helpers import make_user
from strongbox.documents.models import Document, TextStatus

pytestmark = pytest.mark.django_db
LIST = reverse("documents:list")


def found(client, q: str, **params) -> list[str]:
    response = client.get(LIST, {"q": q, **params})
    assert response.status_code == 200
    return [document.title for document in response.context["result"].documents]


def test_it_finds_a_word_that_only_appears_inside_a_pdf(alice_client, uploaded):
    uploaded("pdf", title="Scan")  # the sample PDF's text holds its distinctive word
    uploaded("txt", title="Other")
    from samples import SAMPLES

    word = SAMPLES["pdf"][2]
    response = alice_client.get(LIST, {"q": word})
    assert [d.title for d in response.context["result"].documents] == ["Scan"]
    assert f"<mark>{word.lower()}</mark>".encode() in response.content.lower()


@pytest.mark.parametrize("extension", ["docx", "xlsx", "md", "csv", "txt"])
def test_it_finds_text_inside_each_readable_type(alice_client, uploaded, extension):
    from samples import SAMPLES

    uploaded(extension, title="The file")
    assert found(alice_client, SAMPLES[extension][2]) == ["The file"]


def test_it_searches_title_description_and_tags_and_ranks_the_title_first(alice_client, uploaded):
    uploaded("txt", title="Plain", description="mentions the zeppelin once")
    uploaded("txt", title="Zeppelin manual")
    uploaded("txt", title="Tagged", tags="zeppelin")
    results = found(alice_client, "zeppelin")
    assert results[0] == "Zeppelin manual"
    assert sorted(results) == ["Plain", "Tagged", "Zeppelin manual"]


def test_it_matches_a_prefix_of_the_last_word(alice_client, uploaded):
    uploaded("txt", title="Quarterly statement")
    assert found(alice_client, "quart") == ["Quarterly statement"]


def test_it_never_returns_another_users_documents(uploaded, password_hash):
    uploaded("txt", title="Alice zebra")
    carol = make_user("carol", password_hash)
    from django.test import Client

    client = Client()
    client.force_login(carol)
    assert found(client, "zebra") == []


@pytest.mark.parametrize("query", ['" OR 1=1 --', "title:*", "NEAR(a b)", "a' OR 'a'='a", "*", "((("])
def test_it_treats_query_syntax_as_plain_words(alice_client, uploaded, query):
    uploaded("txt", title="Something")
    assert found(alice_client, query) == []


def test_it_refuses_a_nul_character_with_400(alice_client):
    response = alice_client.get(LIST, {"q": "a\x00b"})
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.context["form"].errors["q"][0]


def test_it_escapes_html_in_snippets(alice_client, uploaded):
    uploaded("txt", title="Danger", description="<script>alert('x')</script> needle")
    response = alice_client.get(LIST, {"q": "needle"})
    assert b"<script>alert" not in response.content
    assert b"<mark>needle</mark>" in response.content


def test_it_combines_search_with_filters_and_sorting(alice_client, uploaded):
    uploaded("txt", title="B needle", category="invoice")
    uploaded("txt", title="A needle", category="invoice")
    uploaded("txt", title="C needle", category="letter")
    assert found(alice_client, "needle", category="invoice", sort="title") == ["A needle", "B needle"]


def test_it_shows_indexing_until_the_text_is_ready(alice_client):
    from helpers import upload

    upload(alice_client, title="Fresh")  # background task not run: on_commit callbacks are not executed
    document = Document.objects.get()
    assert document.text_status == TextStatus.PENDING
    assert b"Indexing" in alice_client.get(reverse("documents:detail", args=[document.public_id])).content


def test_it_marks_a_damaged_file_as_unreadable(alice_client, django_capture_on_commit_callbacks):
    from helpers import upload

    damaged = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(alice_client, filename="broken.pdf", content=damaged, title="Broken").status_code == 302
    document = Document.objects.get()
    assert document.text_status == TextStatus.FAILED
    assert document.text_error
    page = alice_client.get(reverse("documents:detail", args=[document.public_id])).content
    assert b"Could not read text" in page


def test_it_says_how_many_documents_match_a_search_or_filter(alice_client, uploaded):
    for title in ("Needle one", "Needle two", "Haystack"):
        uploaded("txt", title=title, category="invoice" if title != "Haystack" else "letter")
    assert b'<p class="result-count" role="status">2 documents match \xe2\x80\x9cneedle\xe2\x80\x9d</p>' in \
        alice_client.get(LIST, {"q": "needle"}).content
    assert b"1 document matches</p>" in alice_client.get(LIST, {"category": "letter"}).content
    # With more matches than a page holds, the count is of every match, not of the page.
    assert b"2 documents match</p>" in alice_client.get(LIST, {"category": "invoice", "sort": "title"}).content
    assert b"result-count" not in alice_client.get(LIST).content  # the totals already say it unfiltered


def test_the_count_counts_every_page(alice_client, uploaded, monkeypatch):
    from strongbox.documents import selectors

    monkeypatch.setattr(selectors.document_page, "__kwdefaults__", {"page_size": 2})
    for i in range(5):
        uploaded("txt", title=f"Paged {i}", category="letter")
    page = alice_client.get(LIST, {"category": "letter"})
    assert len(page.context["result"].documents) == 2
    assert b"5 documents match</p>" in page.content
