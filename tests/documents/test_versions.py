"""Versions: a new file for a document, with the upload's checks; old versions stay downloadable and restorable,
and the search index holds the current version's text."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpers import stored_files, upload
from samples import SAMPLES
from strongbox.documents import services
from strongbox.documents.models import Document, DocumentText, DocumentVersion
from strongbox.lib.sniff import check_upload

pytestmark = pytest.mark.django_db
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
FIRST = b"apricot orchard first draft\n"
SECOND = b"blueberry meadow second draft\n"


@pytest.fixture
def document(alice_client, django_capture_on_commit_callbacks) -> Document:
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(alice_client, title="Plan", filename="plan.txt", content=FIRST).status_code == 302
    return Document.objects.get()


@pytest.fixture
def new_version(alice_client, django_capture_on_commit_callbacks):
    def post(document, name="plan-v2.txt", content=SECOND, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or alice_client).post(reverse("documents:version_upload", args=[document.public_id]),
                                                 {"file": SimpleUploadedFile(name, content)})

    return post


def found(client, q: str) -> list[str]:
    return [row.title for row in client.get(reverse("documents:list"), {"q": q}).context["result"].documents]


def download(client, document, number, **headers):
    response = client.get(reverse("documents:version_download", args=[document.public_id, number]), **headers)
    return response, b"".join(response.streaming_content) if response.status_code in (200, 206) else b""


def test_it_makes_an_upload_the_current_version_and_keeps_the_old_one(alice_client, alice, document, new_version,
                                                                      isolated_storage):
    response = new_version(document)
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:detail", args=[document.public_id])
    current = Document.objects.get()
    assert (current.original_filename, current.size) == ("plan-v2.txt", len(SECOND))
    assert current.file.name != document.file.name and current.version > document.version
    versions = list(DocumentVersion.objects.filter(document=current).order_by("number"))
    assert [(v.number, v.original_filename, v.uploaded_by) for v in versions] == [(1, "plan.txt", alice),
                                                                                  (2, "plan-v2.txt", alice)]
    assert versions[0].file.name == document.file.name and versions[0].sha256 == document.sha256
    assert sorted(stored_files(isolated_storage)) == sorted([document.file.name, current.file.name])
    # The detail page lists both, the current one first, with a download link each and Restore for the old one.
    html = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    assert "Version 2 (current)" in html and "Version 1" in html
    assert reverse("documents:version_download", args=[document.public_id, 1]) in html
    assert reverse("documents:version_restore", args=[document.public_id, 1]) in html
    assert reverse("documents:version_restore", args=[document.public_id, 2]) not in html


def test_the_search_index_holds_the_current_versions_text(alice_client, document, new_version):
    assert found(alice_client, "apricot") == ["Plan"]
    new_version(document)
    assert found(alice_client, "blueberry") == ["Plan"]
    assert found(alice_client, "apricot") == []
    assert found(alice_client, "plan") == ["Plan"]  # the title is still searchable
    assert Document.objects.get().text_status == "ready"


def test_an_extraction_of_an_outdated_file_does_not_overwrite_the_new_ones_text(alice, document, new_version):
    new_version(document)
    current = Document.objects.get()
    services._text_store(current.pk, "apricot words of the old file", "ready", "", file_name=document.file.name)
    assert "blueberry" in DocumentText.objects.get(document=current).body


def test_a_new_version_waits_for_its_text(alice, document, monkeypatch):
    queued = []
    monkeypatch.setattr(services.tasks, "extract_document_text", lambda **kwargs: queued.append(kwargs))
    services.document_version_create(document=document, upload=SimpleUploadedFile("v2.txt", SECOND),
                                     kind=_kind("txt"), actor=alice)
    current = Document.objects.get()
    assert current.text_status == "pending" and not DocumentText.objects.filter(document=current).exists()
    assert queued == [{"document_id": current.pk, "group": services.tasks.extraction_group(alice.pk)}]


def _kind(extension):
    filename, content, _ = SAMPLES[extension]
    return check_upload(filename, SimpleUploadedFile(filename, content))


def test_old_versions_download_with_their_own_name_type_and_ranges(alice_client, document, new_version):
    new_version(document)
    response, body = download(alice_client, document, 1)
    assert response.status_code == 200 and body == FIRST
    assert 'filename="plan.txt"' in response["Content-Disposition"]
    assert response["ETag"] == f'"{document.sha256}"'
    response, body = download(alice_client, document, 1, HTTP_RANGE="bytes=0-6")
    assert response.status_code == 206 and body == FIRST[:7]
    response, body = download(alice_client, document, 2)
    assert body == SECOND
    assert alice_client.get(reverse("documents:version_download", args=[document.public_id, 3])).status_code == 404


def test_restoring_an_old_version_makes_a_new_current_one_and_keeps_the_history(
        alice_client, document, new_version, isolated_storage, django_capture_on_commit_callbacks):
    new_version(document)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("documents:version_restore", args=[document.public_id, 1]),
                                     follow=True)
    assert "Version 1 is current again, as version 3." in response.content.decode()
    current = Document.objects.get()
    assert (current.file.name, current.original_filename, current.sha256) == (
        document.file.name, "plan.txt", document.sha256)
    numbers = list(DocumentVersion.objects.filter(document=current).order_by("number")
                   .values_list("number", "restored_from"))
    assert numbers == [(1, None), (2, None), (3, 1)]
    assert len(stored_files(isolated_storage)) == 2  # nothing copied
    assert found(alice_client, "apricot") == ["Plan"]
    assert found(alice_client, "blueberry") == []


def test_restoring_the_current_version_changes_nothing(alice, document):
    services.document_version_restore(document=document, number=1, actor=alice)
    assert DocumentVersion.objects.filter(document=document).count() == 1


@pytest.mark.parametrize(("data", "message"), [
    ({}, "This field is required."),
    ({"file": SimpleUploadedFile("empty.txt", b"")}, "The submitted file is empty."),
    ({"file": SimpleUploadedFile("fake.pdf", b"not a pdf at all")}, "PDF"),
    ({"file": SimpleUploadedFile("tool.exe", b"MZ\x90\x00")}, "exe"),
])
def test_it_refuses_a_version_the_upload_would_refuse_and_keeps_the_current_one(alice_client, document, data,
                                                                               message, isolated_storage):
    response = alice_client.post(reverse("documents:version_upload", args=[document.public_id]), data)
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert stored_files(isolated_storage) == [document.file.name]
    assert DocumentVersion.objects.count() == 1 and Document.objects.get().sha256 == document.sha256


def test_it_answers_413_for_a_version_over_the_size_limit(alice_client, document, new_version, settings,
                                                          isolated_storage):
    settings.MAX_UPLOAD_SIZE = len(FIRST)
    response = new_version(document, content=b"x" * (len(FIRST) + 1))
    assert response.status_code == 413 and "larger than the" in response.content.decode()
    assert stored_files(isolated_storage) == [document.file.name]


def test_old_versions_count_against_the_quota(alice_client, document, new_version, settings, isolated_storage):
    # The current file and one old version fit; a third file does not, although the current one alone would.
    settings.QUOTA_BYTES = len(FIRST) + 2 * len(SECOND) - 1
    assert new_version(document).status_code == 302
    response = new_version(document, content=SECOND)
    assert response.status_code == 413 and "does not fit in your storage quota" in response.content.decode()
    assert len(stored_files(isolated_storage)) == 2
    assert upload(alice_client, title="Other", content=b"x" * len(SECOND)).status_code == 413


def test_a_new_version_is_not_a_new_document_for_the_document_quota(alice_client, document, new_version,
                                                                    settings):
    settings.QUOTA_DOCUMENTS = 1
    assert new_version(document).status_code == 302


def test_the_version_form_page_renders_for_browsers_without_javascript(alice_client, document):
    page = alice_client.get(reverse("documents:version_upload", args=[document.public_id]))
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()


def test_the_detail_page_costs_the_same_queries_with_one_version_or_many(alice_client, alice, document):
    url = reverse("documents:detail", args=[document.public_id])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(url).status_code == 200
        return len(queries)

    alice_client.get(url)
    one = count()
    for _ in range(5):
        services.document_version_create(document=document, upload=SimpleUploadedFile("v.txt", SECOND),
                                         kind=_kind("txt"), actor=alice)
    assert count() == one


ROUTES = [("documents:version_upload", "get", ()), ("documents:version_upload", "post", ()),
          ("documents:version_download", "get", (1,)), ("documents:version_restore", "post", (1,))]


@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_it_answers_an_outsider_exactly_like_a_missing_document(route, method, extra, document, bob_client,
                                                                isolated_storage):
    data = {"file": SimpleUploadedFile("x.txt", SECOND)} if method == "post" else {}
    theirs = getattr(bob_client, method)(reverse(route, args=[document.public_id, *extra]), data)
    data = {"file": SimpleUploadedFile("x.txt", SECOND)} if method == "post" else {}
    missing = getattr(bob_client, method)(reverse(route, args=[MISSING, *extra]), data)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert DocumentVersion.objects.count() == 1 and stored_files(isolated_storage) == [document.file.name]


@pytest.mark.parametrize(("route", "method", "extra"), ROUTES)
def test_it_sends_anonymous_users_to_sign_in(route, method, extra, document, anonymous_client):
    response = getattr(anonymous_client, method)(reverse(route, args=[document.public_id, *extra]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert DocumentVersion.objects.count() == 1


def test_a_trashed_documents_versions_are_out_of_reach(alice, alice_client, document, new_version):
    new_version(document)
    services.document_trash(document=document, actor=alice)
    assert download(alice_client, document, 1)[0].status_code == 404
    assert new_version(document).status_code == 404
    assert alice_client.post(reverse("documents:version_restore", args=[document.public_id, 1])).status_code == 404
