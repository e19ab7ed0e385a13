"""Edits that meet a concurrent change: the version a form was read at, documents deleted meanwhile, partial
updates, and which database errors mean "title taken"."""

import re
import threading

import pytest
from django.db import IntegrityError, connection
from django.urls import reverse

from documents.races import after_read
from strongbox.documents import selectors, services
from strongbox.documents.models import Document, Tag
from strongbox.documents.selectors import ListQuery

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
STALE = "changed since you opened it"


def hidden_version(html: str) -> int:
    return int(re.search(r'<input type="hidden" name="version" value="(\d+)"', html).group(1))


def edit(document) -> str:
    return reverse("documents:edit", args=[document.public_id])


def title(document) -> str:
    return reverse("documents:title", args=[document.public_id])


def elsewhere(document, **changes) -> None:
    """Change the document as another tab or an API client would."""
    services.document_update(document=Document.objects.get(pk=document.pk), **changes)


def test_the_forms_carry_the_version_they_were_read_at(alice_client, uploaded):
    document = uploaded("txt")
    assert hidden_version(alice_client.get(edit(document)).content.decode()) == document.version
    assert hidden_version(alice_client.get(title(document), headers=HX).content.decode()) == document.version
    assert hidden_version(alice_client.get(title(document)).content.decode()) == document.version


def test_it_saves_an_edit_made_at_the_current_version(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    version = hidden_version(alice_client.get(edit(document)).content.decode())
    response = alice_client.post(edit(document), {"title": "Lease 2026", "description": "Signed",
                                                  "category": "contract", "tags": "home", "version": version})
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.title, document.description, document.version) == ("Lease 2026", "Signed", version + 1)


def test_a_stale_edit_is_refused_with_409_and_keeps_the_input(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    version = hidden_version(alice_client.get(edit(document)).content.decode())
    elsewhere(document, description="Written in another tab")
    response = alice_client.post(edit(document), {"title": "Mine", "description": "Typed here", "category": "other",
                                                  "tags": "", "version": version})
    page = response.content.decode()
    assert response.status_code == 409
    assert STALE in page and 'value="Mine"' in page and "Typed here" in page
    document.refresh_from_db()
    assert (document.title, document.description) == ("Lease", "Written in another tab")
    # Saving the form again is a deliberate overwrite of what is there now.
    assert hidden_version(page) == document.version
    again = alice_client.post(edit(document), {"title": "Mine", "description": "Typed here", "category": "other",
                                               "tags": "", "version": hidden_version(page)})
    assert again.status_code == 302


@pytest.mark.parametrize("headers", [HX, {}], ids=["htmx", "page"])
def test_a_stale_title_edit_is_refused_with_409_and_keeps_the_input(alice_client, uploaded, headers):
    document = uploaded("txt", title="Lease")
    version = hidden_version(alice_client.get(title(document), headers=headers).content.decode())
    elsewhere(document, title="Lease (scanned)")
    response = alice_client.post(title(document), {"title": "Lease 2026", "version": version}, headers=headers)
    body = response.content.decode()
    assert response.status_code == 409
    assert STALE in body and 'value="Lease 2026"' in body
    assert ("<html" in body) is (not headers)
    document.refresh_from_db()
    assert document.title == "Lease (scanned)" and hidden_version(body) == document.version


def test_the_title_edit_changes_only_the_title(alice_client, uploaded, monkeypatch):
    document = uploaded("txt", title="Lease", description="Old", category="contract", tags="home")
    # A change lands between the page reading the document and saving the title (a form without a version, as a
    # script would post): the other fields keep the stored values, not the ones the page read.
    after_read(monkeypatch, lambda stored: elsewhere(stored, description="New", category="letter", tags=["bank"]))
    response = alice_client.post(title(document), {"title": "Lease 2026"}, headers=HX)
    assert response.status_code == 200
    document.refresh_from_db()
    assert (document.title, document.description, document.category) == ("Lease 2026", "New", "letter")
    assert [tag.name for tag in document.tags.all()] == ["bank"]


def test_a_partial_update_keeps_the_fields_it_was_not_given(uploaded):
    document = uploaded("txt", title="Lease", description="Signed", tags="home")
    stale = Document.objects.get(pk=document.pk)
    elsewhere(document, description="Countersigned")
    services.document_update(document=stale, title="Lease 2026")
    document.refresh_from_db()
    assert (document.title, document.description) == ("Lease 2026", "Countersigned")
    assert [tag.name for tag in document.tags.all()] == ["home"]
    assert [d.title for d in selectors.document_page(document.owner, ListQuery(q="countersigned"), 1).documents] == [
        "Lease 2026"]


def delete_now(stored: Document) -> None:
    services.document_delete(document=stored)


@pytest.mark.parametrize(("route", "data", "headers"), [
    ("documents:edit", {"title": "Mine", "category": "other"}, {}),
    ("documents:title", {"title": "Mine"}, {}),
    ("documents:title", {"title": "Mine"}, HX),
    ("documents:delete", {}, {}),
])
def test_a_document_deleted_meanwhile_answers_404(alice_client, uploaded, monkeypatch, route, data, headers):
    document = uploaded("txt", title="Lease")
    alice_client.get(reverse("documents:list"))  # shows the upload's message, which the next page would show
    missing = alice_client.post(reverse(route, args=[MISSING]), data, headers=headers)
    after_read(monkeypatch, delete_now)
    response = alice_client.post(reverse(route, args=[document.public_id]),
                                 {**data, "version": document.version}, headers=headers)
    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content


@pytest.mark.parametrize(("route", "headers"), [("documents:edit", {}), ("documents:title", HX),
                                                ("documents:title", {})])
def test_an_outsider_gets_the_same_404_as_for_a_missing_document(bob_client, uploaded, route, headers):
    document = uploaded("txt", title="Mine")
    data = {"title": "Stolen", "category": "other", "version": document.version}
    theirs = bob_client.post(reverse(route, args=[document.public_id]), data, headers=headers)
    missing = bob_client.post(reverse(route, args=[MISSING]), data, headers=headers)
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    document.refresh_from_db()
    assert document.title == "Mine" and document.version == data["version"]


@pytest.mark.parametrize("route", ["documents:edit", "documents:title"])
def test_anonymous_users_are_sent_to_sign_in_and_nothing_changes(anonymous_client, uploaded, route):
    document = uploaded("txt", title="Mine")
    response = anonymous_client.post(reverse(route, args=[document.public_id]),
                                     {"title": "Stolen", "category": "other", "version": document.version})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    document.refresh_from_db()
    assert document.title == "Mine"


def test_a_bad_version_says_the_form_is_out_of_date(alice_client, uploaded):
    document = uploaded("txt", title="Lease")
    response = alice_client.post(edit(document), {"title": "Mine", "category": "other", "version": "x"})
    assert response.status_code == 400 and b"This form is out of date" in response.content
    document.refresh_from_db()
    assert document.title == "Lease"


# Which database errors mean "title taken"


def test_only_the_title_constraint_means_title_taken(uploaded, monkeypatch):
    uploaded("txt", title="Taken")
    document = uploaded("txt", title="Mine")
    with pytest.raises(services.TitleTaken):  # the form's check was bypassed or lost a race: the constraint says so
        services.document_update(document=document, title="TAKEN")

    def broken(document):
        raise IntegrityError("NOT NULL constraint failed: documents_searchentry.body")

    monkeypatch.setattr(services, "document_index", broken)
    with pytest.raises(IntegrityError):
        services.document_update(document=document, title="Fine")
    document.refresh_from_db()
    assert document.title == "Mine"


def test_a_tag_created_meanwhile_by_another_request_is_reused(uploaded, monkeypatch):
    document = uploaded("txt")
    owner, read, other = document.owner, Tag.objects.filter, []

    def looked_before_the_other_request_committed(*args, **kwargs):
        existing = list(read(*args, **kwargs))
        if not other:  # the other request commits the same new tag just after this one looked for it
            other.append(Tag.objects.create(owner=owner, name="fresh"))
        return existing

    monkeypatch.setattr(Tag.objects, "filter", looked_before_the_other_request_committed)
    services.document_update(document=document, title=document.title, description="", category="other",
                             tags=["Fresh"])
    monkeypatch.undo()
    assert list(Tag.objects.filter(owner=owner)) == other and list(document.tags.all()) == other


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's IMMEDIATE transactions serialize writers "
                                                               "from their start, so two cannot race there")
@pytest.mark.django_db(transaction=True)
def test_two_requests_creating_the_same_new_tag_both_succeed(alice, monkeypatch):
    from helpers import make_documents

    documents = make_documents(alice, 2)
    both_looked = threading.Barrier(2, timeout=10)
    read = Tag.objects.filter

    def looked(*args, **kwargs):
        existing = list(read(*args, **kwargs))
        both_looked.wait()  # neither has created the tag yet: both will
        return existing

    monkeypatch.setattr(Tag.objects, "filter", looked)
    errors = []

    def tag(document):
        try:
            services.document_update(document=document, title=document.title, description="", category="other",
                                     tags=["Fresh"])
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=tag, args=(document,)) for document in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    monkeypatch.undo()
    assert errors == []
    [fresh] = Tag.objects.filter(owner=alice)
    assert all(list(document.tags.all()) == [fresh] for document in documents)
