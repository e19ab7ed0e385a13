"""The search-backend contract. Every backend runs these tests (later ones add themselves to BACKENDS)."""

import pytest
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from strongbox.documents.search import IndexEntry

pytestmark = pytest.mark.django_db
# Each backend runs on its own database: SQLite's in the embedded run, PostgreSQL's in the scale-out run.
BACKENDS = [settings.SEARCH_BACKEND]


@pytest.fixture(params=BACKENDS)
def backend(request):
    backend = import_string(request.param)()
    backend.clear()
    return backend


def entry(document_id: int, owner_id: int = 1, *, title: str = "", description: str = "", tags: str = "",
          body: str = "") -> IndexEntry:
    return IndexEntry(document_id=document_id, owner_id=owner_id, title=title, description=description,
                      tags=tags, body=body)


def test_it_finds_documents_by_every_field(backend):
    backend.index(entry(1, title="alpha"))
    backend.index(entry(2, description="alpha"))
    backend.index(entry(3, tags="alpha"))
    backend.index(entry(4, body="alpha"))
    backend.index(entry(5, body="beta"))
    assert sorted(backend.search(owner_id=1, query="alpha")) == [1, 2, 3, 4]


def test_it_ranks_title_above_tags_above_description_above_body(backend):
    backend.index(entry(4, body="gamma"))
    backend.index(entry(3, description="gamma"))
    backend.index(entry(2, tags="gamma"))
    backend.index(entry(1, title="gamma"))
    assert backend.search(owner_id=1, query="gamma") == [1, 2, 3, 4]


def test_it_requires_every_term_and_matches_the_last_as_a_prefix(backend):
    backend.index(entry(1, body="annual report 2026"))
    backend.index(entry(2, body="annual budget"))
    assert backend.search(owner_id=1, query="annual rep") == [1]


def test_it_ignores_case_and_accents(backend):
    backend.index(entry(1, body="Café Crème"))
    assert backend.search(owner_id=1, query="CAFE creme") == [1]


def test_it_keeps_owners_apart(backend):
    backend.index(entry(1, owner_id=1, body="secret"))
    backend.index(entry(2, owner_id=2, body="secret"))
    assert backend.search(owner_id=2, query="secret") == [2]
    # However the index keeps owners apart, no query reaches it: not even one naming how it might.
    for query in ("u1", "u2", "owner", "owner_id", "1"):
        assert backend.search(owner_id=1, query=query) == []
        assert backend.count(owner_id=1, query=query) == 0


def test_index_is_an_upsert_and_remove_forgets(backend):
    backend.index(entry(1, body="old words"))
    backend.index(entry(1, body="new words"))
    assert backend.search(owner_id=1, query="old") == []
    assert backend.search(owner_id=1, query="new") == [1]
    backend.remove(1)
    backend.remove(1)
    assert backend.search(owner_id=1, query="new") == []


def test_index_many_is_an_upsert_of_each_entry(backend):
    backend.index(entry(1, body="old words"))
    backend.index_many([entry(1, body="new words"), entry(2, body="new words"), entry(3, body="other")])
    assert backend.search(owner_id=1, query="old") == []
    assert sorted(backend.search(owner_id=1, query="new")) == [1, 2]
    backend.index_many([])
    assert backend.search(owner_id=1, query="other") == [3]


def test_it_returns_nothing_for_a_query_without_words(backend):
    backend.index(entry(1, body="anything"))
    assert backend.search(owner_id=1, query="  ?! \" * ") == []
    assert backend.snippets(document_ids=[1], query="") == {}


def test_it_honours_the_limit(backend):
    for pk in range(1, 6):
        backend.index(entry(pk, body="many"))
    assert len(backend.search(owner_id=1, query="many", limit=3)) == 3


def test_it_pages_with_an_offset_and_counts_every_match(backend):
    for pk in range(1, 8):  # ranks differ: more occurrences of the term in a text of the same length
        backend.index(entry(pk, body=" ".join(["many"] * pk + ["filler"] * (10 - pk))))
    backend.index(entry(9, owner_id=2, body="many"))
    best_first = backend.search(owner_id=1, query="many")
    assert best_first == [7, 6, 5, 4, 3, 2, 1]
    assert backend.search(owner_id=1, query="many", limit=3, offset=2) == best_first[2:5]
    assert backend.search(owner_id=1, query="many", limit=3, offset=7) == []
    assert backend.count(owner_id=1, query="many") == 7
    assert backend.count(owner_id=1, query="MAN") == 7  # the last term is a prefix, as in search
    assert backend.count(owner_id=1, query="?!") == 0


def test_suggestions_put_title_matches_first_then_the_newest(backend):
    backend.index(entry(1, title="Zebra crossing"))
    backend.index(entry(2, body="zebras in the text"))
    backend.index(entry(3, title="Zebu", body="zebra"))
    backend.index(entry(4, body="zebra again"))
    backend.index(entry(5, owner_id=2, title="Zebra"))
    backend.index(entry(6, title="Other", body="unrelated"))
    assert backend.suggest(owner_id=1, query="zeb") == [3, 1, 4, 2]
    assert backend.suggest(owner_id=1, query="zeb", limit=3) == [3, 1, 4]
    assert backend.suggest(owner_id=1, query="crossing zeb") == [1]
    assert backend.suggest(owner_id=1, query="?!") == []


def test_matching_selects_the_owners_matching_ids_for_a_query_of_documents(backend):
    backend.index(entry(1, body="needle"))
    backend.index(entry(2, body="hay"))
    backend.index(entry(3, owner_id=2, body="needle"))
    sql, params = backend.matching(owner_id=1, query="needle")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert [row[0] for row in cursor.fetchall()] == [1]
    assert backend.matching(owner_id=1, query="?!") is None


@pytest.mark.parametrize(("query", "marked"), [("invoic", "invoices"), ("paid invoic", "invoices"),
                                               ("brûl", "brûlée"), ("brul", "brûlée"), ("inv", "invoices")])
def test_snippets_mark_the_words_a_prefix_stands_for(backend, query, marked):
    backend.index(entry(1, body="the invoices were paid with crème brûlée"))
    backend.index(entry(2, owner_id=2, body="invoicing elsewhere"))
    assert f"<mark>{marked}</mark>" in backend.snippets(document_ids=[1], query=query)[1]


def test_snippets_are_escaped_html_with_marked_terms(backend):
    backend.index(entry(1, body="the needle & thread <script>alert(1)</script>"))
    snippet = backend.snippets(document_ids=[1], query="needle")[1]
    assert "<mark>needle</mark>" in snippet
    # Markup in the text is escaped or, where an engine's excerpt drops tags, absent; never live.
    assert "<mark>needle</mark> &amp; thread" in snippet and "<script>" not in snippet


def test_snippets_prefer_the_files_text(backend):
    backend.index(entry(1, title="needle report", body="the text says needle too"))
    assert "the text says <mark>needle</mark>" in backend.snippets(document_ids=[1], query="needle")[1]


def shared(document_id: int, owner_id: int, *readers: int, **fields) -> IndexEntry:
    return IndexEntry(document_id=document_id, owner_id=owner_id, reader_ids=readers, title=fields.get("title", ""),
                      description="", tags="", body=fields.get("body", ""))


def test_it_finds_entries_shared_with_the_user_as_their_owner_does(backend):
    backend.index(shared(1, 1, 2, 3, body="lagoon"))
    backend.index(shared(2, 2, body="lagoon"))
    backend.index(shared(3, 4, body="lagoon"))
    assert sorted(backend.search(owner_id=2, query="lagoon")) == [1, 2]
    assert sorted(backend.search(owner_id=3, query="lag")) == [1]
    assert backend.search(owner_id=1, query="lagoon") == [1]
    assert backend.count(owner_id=2, query="lagoon") == 2
    assert sorted(backend.suggest(owner_id=2, query="lago")) == [1, 2]
    sql, params = backend.matching(owner_id=2, query="lagoon")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert sorted(row[0] for row in cursor.fetchall()) == [1, 2]


def test_reindexing_without_a_reader_forgets_them(backend):
    backend.index(shared(1, 1, 2, body="lagoon"))
    backend.index(shared(1, 1, body="lagoon"))
    assert backend.search(owner_id=2, query="lagoon") == []
    assert backend.search(owner_id=1, query="lagoon") == [1]


def test_no_query_reaches_the_readers(backend):
    backend.index(shared(1, 1, 2, body="plain words"))
    for query in ("u2", "2", "u1", "owner", "reader_ids"):
        assert backend.search(owner_id=3, query=query) == [], query
