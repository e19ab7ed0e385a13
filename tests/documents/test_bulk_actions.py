"""Actions on many documents of the list at once: tag, untag, change category, delete, download as one ZIP, on
the ticked documents or on every one matching the search and filters."""

import gc
import io
import itertools
import re
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpers import stored_files
from strongbox.documents import bulk, cache, zipdownload
from strongbox.documents.models import Document, Tag
from strongbox.documents.search import get_backend
from strongbox.documents.services import document_index

pytestmark = pytest.mark.django_db
LIST = reverse("documents:list")
BULK = reverse("documents:bulk")


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (cache bumps) of what the block does, as a real request's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


_numbers = itertools.count()


def indexed(owner, count: int, **fields) -> list[Document]:
    """Documents (rows without files) in the search index, each with a title of its own."""
    documents = Document.objects.bulk_create([
        Document(owner=owner, title=f"Doc {next(_numbers)}", file=f"documents/x/{owner.pk}-{i}",
                 original_filename="a.txt", extension="txt", content_type="text/plain", size=1, sha256="0" * 64,
                 **fields)
        for i in range(count)
    ])
    for document in documents:
        document_index(document)
    return documents


def with_files(owner, contents: list[tuple[str, bytes]]) -> list[Document]:
    """Documents whose files exist in the store, named as uploaded."""
    rows = []
    for i, (name, content) in enumerate(contents):
        stored = default_storage.save(f"documents/zz/{owner.pk}-{i}", ContentFile(content))
        rows.append(Document(owner=owner, title=f"File {i}", file=stored, original_filename=name, extension="txt",
                             content_type="text/plain", size=len(content), sha256="0" * 64))
    return Document.objects.bulk_create(rows)


def act(client, action: str, documents=(), **fields):
    data = {"action": action, "ids": [d.public_id for d in documents], **fields}
    return client.post(BULK, data)


def without_token(page: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", page)


def tags_of(document) -> list[str]:
    return sorted(document.tags.values_list("name", flat=True))


def test_it_tags_the_ticked_documents_and_reindexes_them(alice_client, alice, run_commits):
    first, second, third = indexed(alice, 3)
    with run_commits():
        response = act(alice_client, "tag", [first, second], tag="  Taxes   2026 ", matching="sort=title")
    assert response.status_code == 302 and response["Location"] == f"{LIST}?sort=title"
    assert tags_of(first) == tags_of(second) == ["Taxes 2026"] and tags_of(third) == []
    assert Document.objects.get(pk=first.pk).version == 2 and Document.objects.get(pk=third.pk).version == 1
    assert sorted(get_backend().search(owner_id=alice.pk, query="taxes")) == sorted([first.pk, second.pk])
    page = alice_client.get(LIST, {"tag": "taxes 2026"})  # the cached list changed too
    assert [d.pk for d in page.context["result"].documents] == [second.pk, first.pk]
    assert "Added the tag “Taxes 2026” to 2 documents." in page.content.decode()


def test_it_reuses_an_existing_tag_and_counts_only_documents_that_lacked_it(alice, alice_client):
    first, second = indexed(alice, 2)
    tag = Tag.objects.create(owner=alice, name="Bank")
    first.tags.add(tag)
    act(alice_client, "tag", [first, second], tag="bank")
    assert Tag.objects.filter(owner=alice).count() == 1 and tags_of(second) == ["Bank"]
    assert Document.objects.get(pk=first.pk).version == 1  # unchanged, so its ETag stays


def test_it_removes_a_tag(alice, alice_client):
    first, second = indexed(alice, 2)
    tag = Tag.objects.create(owner=alice, name="Old")
    first.tags.add(tag)
    second.tags.add(tag)
    document_index(first)
    document_index(second)
    response = act(alice_client, "untag", [first], tag="OLD")
    assert response.status_code == 302
    assert tags_of(first) == [] and tags_of(second) == ["Old"]
    assert get_backend().search(owner_id=alice.pk, query="old") == [second.pk]


def test_it_changes_the_category(alice, alice_client):
    first, second = indexed(alice, 2)
    response = act(alice_client, "category", [first], category="invoice")
    assert response.status_code == 302
    assert Document.objects.get(pk=first.pk).category == "invoice"
    assert Document.objects.get(pk=second.pk).category == "other"


def test_it_asks_before_deleting_then_deletes(alice, alice_client, isolated_storage):
    documents = with_files(alice, [("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")])
    confirm = act(alice_client, "trash", documents[:2])
    assert confirm.status_code == 200 and "Delete 2 documents?" in confirm.content.decode()
    assert Document.objects.count() == 3
    response = act(alice_client, "trash", documents[:2], confirm="1")
    assert response.status_code == 302
    assert list(Document.objects.values_list("pk", flat=True)) == [documents[2].pk]


def test_it_acts_on_every_matching_document_not_only_the_page(alice, alice_client):
    matching = indexed(alice, 60, category="invoice")
    other = indexed(alice, 1)[0]
    Document.objects.filter(pk=other.pk).update(title="Other")
    response = act(alice_client, "tag", all="1", tag="bulk", matching="category=invoice&page=2")
    assert response.status_code == 302
    tagged = set(Document.objects.filter(tags__name="bulk").values_list("pk", flat=True))
    assert tagged == {d.pk for d in matching}


def test_it_reruns_the_search_for_all_matching(alice, alice_client):
    documents = indexed(alice, 3)
    Document.objects.filter(pk=documents[0].pk).update(title="Zephyr lease")
    document_index(Document.objects.get(pk=documents[0].pk))
    act(alice_client, "category", all="1", category="contract", matching="q=zephyr")
    assert list(Document.objects.filter(category="contract").values_list("pk", flat=True)) == [documents[0].pk]


def test_it_refuses_more_documents_than_one_action_may_change(alice, alice_client, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_DOCUMENTS", 5)
    documents = indexed(alice, 6)
    for response in (act(alice_client, "tag", documents, tag="x"), act(alice_client, "tag", all="1", tag="x")):
        assert response.status_code == 400
        assert "At most 5 documents can be changed at once" in response.content.decode()
    assert not Tag.objects.exists()


@pytest.mark.parametrize(("fields", "message"), [
    ({"action": "tag", "tag": "  "}, "Enter the tag to add or remove."),
    ({"action": "category", "category": ""}, "Choose the category"),
    ({"action": "category", "category": "weapons"}, "Select a valid choice"),
    ({"action": "shred"}, "Select a valid choice"),
    ({"action": "tag", "tag": "y" * 51}, "at most 50 characters"),
])
def test_it_shows_the_form_again_with_the_selection_when_a_choice_is_invalid(alice, alice_client, fields, message):
    documents = indexed(alice, 2)
    response = alice_client.post(BULK, {**fields, "ids": [d.public_id for d in documents]})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert all(f'name="ids" value="{d.public_id}"' in page for d in documents)
    assert not Tag.objects.exists() and not Document.objects.exclude(category="other").exists()


def test_it_says_when_nothing_is_selected(alice_client):
    response = act(alice_client, "tag", tag="x")
    assert response.status_code == 400 and "Select at least one document." in response.content.decode()


def test_it_treats_someone_elses_documents_as_missing(alice, bob, bob_client):
    documents = indexed(alice, 2)
    theirs = act(bob_client, "trash", documents, confirm="1")
    missing = bob_client.post(BULK, {"action": "trash", "ids": ["nope", "gone"], "confirm": "1"})
    assert theirs.status_code == missing.status_code == 400
    echoed = without_token(theirs.content)  # the page echoes the posted ids, and nothing else differs
    for document, made_up in zip(documents, ["nope", "gone"], strict=True):
        echoed = echoed.replace(document.public_id.encode(), made_up.encode())
    assert echoed == without_token(missing.content)
    assert b"Select at least one document." in echoed and documents[0].title.encode() not in echoed
    for action, fields in (("tag", {"tag": "x"}), ("category", {"category": "invoice"}), ("download", {})):
        assert act(bob_client, action, documents, **fields).status_code == 400
    assert act(bob_client, "tag", all="1", tag="x").status_code == 400  # bob has none; alice's are not his
    assert Document.objects.filter(owner=alice).count() == 2 and not Tag.objects.exists()
    assert set(Document.objects.values_list("version", flat=True)) == {1}


def test_it_ignores_someone_elses_ids_among_ones_own(alice, alice_client, bob):
    mine = indexed(alice, 1)[0]
    theirs = indexed(bob, 1)[0]
    act(alice_client, "tag", [mine, theirs], tag="x")
    assert tags_of(mine) == ["x"] and tags_of(theirs) == []


def test_it_sends_anonymous_users_to_sign_in(anonymous_client, alice):
    documents = indexed(alice, 1)
    response = act(anonymous_client, "trash", documents, confirm="1")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert Document.objects.count() == 1


def test_it_only_accepts_posts(alice_client):
    assert alice_client.get(BULK).status_code == 405


# ---------- ZIP ----------

def read_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_it_downloads_the_selection_as_one_streamed_zip(alice, alice_client):
    documents = with_files(alice, [("Invoice.pdf", b"one"), ("invoice.PDF", b"two"), ("../../etc/passwd", b"3"),
                                   ("notes", b"four")])
    response = act(alice_client, "download", documents)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="strongbox-')
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.namelist() == ["Invoice.pdf", "invoice (2).PDF", "passwd", "notes"]
    assert [archive.read(name) for name in archive.namelist()] == [b"one", b"two", b"3", b"four"]


def test_it_downloads_every_matching_document(alice, alice_client):
    with_files(alice, [("a.txt", b"a"), ("b.txt", b"b")])
    assert sorted(read_zip(act(alice_client, "download", all="1")).namelist()) == ["a.txt", "b.txt"]


@pytest.mark.parametrize(("limit", "value", "message"), [
    ("MAX_FILES", 1, "At most 1 documents can be downloaded as one ZIP."),
    ("MAX_BYTES", 3, "one ZIP can hold at most"),
])
def test_it_refuses_a_zip_beyond_its_limits(alice, alice_client, monkeypatch, limit, value, message):
    monkeypatch.setattr(zipdownload, limit, value)
    documents = with_files(alice, [("a.txt", b"aa"), ("b.txt", b"bb")])
    response = act(alice_client, "download", documents)
    assert response.status_code == 400 and message in response.content.decode()


def test_it_streams_a_zip_of_many_files_in_bounded_memory(alice, alice_client, isolated_storage):
    chunk = bytes(range(256)) * 1024  # 256 KB
    documents = with_files(alice, [(f"file {i}.bin", chunk) for i in range(120)])  # 30 MB in all
    assert len(stored_files(isolated_storage)) == 120
    response = act(alice_client, "download", documents)
    gc.collect()
    tracemalloc.start()
    try:
        total = 0
        for block in response.streaming_content:
            total += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == int(response["Content-Length"]) > 120 * len(chunk)
    assert peak < 3 * 1024 * 1024, peak  # a few blocks, never the archive (30 MB) or a whole file's many blocks


# ---------- the list page ----------

def test_it_draws_a_checkbox_per_document_and_the_bulk_form(alice, alice_client):
    documents = indexed(alice, 2)
    page = alice_client.get(LIST, {"category": "other"}).content.decode()
    for document in documents:
        assert f'name="ids" value="{document.public_id}" form="bulk-form"' in page
    assert f'action="{BULK}"' in page and 'name="matching" value="category=other"' in page
    assert 'name="csrfmiddlewaretoken"' in page.split('id="bulk-form"')[1]
    assert "All matching this search and filters" in page


def test_it_keeps_the_list_pages_query_count_with_the_bulk_form(alice, alice_client, run_commits):
    def queries(count: int) -> int:
        indexed(alice, count)
        with run_commits():
            cache.bump(alice.pk)
        with CaptureQueriesContext(connection) as captured:
            response = alice_client.get(LIST)
        assert b'id="bulk-form"' in response.content
        return len(captured)

    alice_client.get(LIST)
    assert queries(1) == queries(40)
