import gc
import hashlib
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.test.client import ClientHandler
from django.urls import reverse

from helpers import csrf_token, stored_files, upload
from samples import SAMPLES, pdf_bytes, png_bytes, zip_bomb_bytes
from strongbox.documents.models import Document, Tag, TextStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("extension", sorted(SAMPLES))
def test_it_accepts_every_allowed_type_and_indexes_its_text(extension, uploaded, isolated_storage):
    document = uploaded(extension, tags="Taxes, bank")
    filename, content, word = SAMPLES[extension]
    assert document.extension == ("jpeg" if extension == "jpg" else extension)
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.original_filename == filename
    assert sorted(t.name for t in document.tags.all()) == ["Taxes", "bank"]
    assert document.text_status == TextStatus.READY
    if word:
        assert word.lower() in document.text.body.lower()
    assert stored_files(isolated_storage) == [document.file.name]
    assert document.file.name.startswith("documents/") and filename not in document.file.name


def test_it_redirects_to_the_new_document(alice_client):
    response = upload(alice_client)
    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:detail", args=[document.public_id])


def test_it_sends_anonymous_users_to_sign_in(anonymous_client, isolated_storage):
    response = upload(anonymous_client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not Document.objects.exists()
    assert stored_files(isolated_storage) == []


def test_it_shows_the_empty_form(alice_client):
    response = alice_client.get(reverse("documents:upload"))
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content


def assert_rejected(response, status: int, field: str, message: str, storage):
    assert response.status_code == status
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message.encode() in response.content.replace(b"&#x27;", b"'").replace(b"&quot;", b'"')
    assert not Document.objects.exists()
    assert stored_files(storage) == []


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("tool.exe", b"MZ\x90\x00", "are not accepted"),
    ("noextension", b"hello", "are not accepted"),
    ("picture.pdf", png_bytes(), "not a PDF"),
    ("page.txt", b"<html><script>alert(1)</script></html>", ""),
    ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "are not accepted"),
    ("photo.png", b"just text", ""),
    ("report.docx", zip_bomb_bytes(2 * 1024 * 1024), ""),
    ("polyglot.pdf", b"<html>" + pdf_bytes("x"), ""),
])
def test_it_rejects_files_whose_type_is_not_allowed_or_does_not_match(alice_client, isolated_storage, filename,
                                                                       content, message):
    response = upload(alice_client, filename=filename, content=content)
    assert_rejected(response, 400, "file", message, isolated_storage)


def test_it_rejects_an_empty_file(alice_client, isolated_storage):
    response = upload(alice_client, filename="empty.txt", content=b"")
    assert_rejected(response, 400, "file", "empty", isolated_storage)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"title": "x" * 101}, "title", "at most 100 characters"),
    ({"category": "weapons"}, "category", "Select a valid choice."),
    ({"tags": ",".join(f"t{i}" for i in range(21))}, "tags", "at most 20 tags"),
    ({"tags": "y" * 51}, "tags", "at most 50 characters"),
])
def test_it_rejects_invalid_fields_and_keeps_the_input(alice_client, isolated_storage, fields, field, message):
    response = upload(alice_client, description="kept description", **fields)
    assert_rejected(response, 400, field, message, isolated_storage)
    assert b"kept description" in response.content


def test_it_rejects_a_title_already_used_by_the_owner_ignoring_case(alice_client, uploaded, isolated_storage):
    uploaded("txt", title="Tax Return")
    response = upload(alice_client, title="tax return")
    assert response.status_code == 400
    assert "already have a document with this title" in response.context["form"].errors["title"][0]
    assert Document.objects.count() == 1
    assert len(stored_files(isolated_storage)) == 1


def test_it_allows_the_same_title_for_another_user(bob_client, uploaded):
    uploaded("txt", title="Tax Return")
    assert upload(bob_client, title="Tax Return").status_code == 302


def test_it_answers_413_for_a_file_over_the_limit_and_keeps_the_input(alice_client, settings, isolated_storage):
    settings.MAX_UPLOAD_SIZE = 1000
    response = upload(alice_client, content=b"a" * 1001, title="Big one")
    assert_rejected(response, 413, "file", "larger than the", isolated_storage)
    assert b'value="Big one"' in response.content
    assert list((settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


def test_it_refuses_a_body_far_over_the_limit_before_reading_it(alice_client, settings):
    settings.MAX_UPLOAD_SIZE = 1000
    response = alice_client.generic("POST", reverse("documents:upload"), b"",
                                    CONTENT_TYPE="multipart/form-data; boundary=x", CONTENT_LENGTH=str(5 * 1024**2))
    assert response.status_code == 413
    assert b"at most" in response.content


def test_a_form_upload_far_over_the_limit_comes_back_with_the_typed_input(alice_client, settings, isolated_storage):
    # Without JavaScript the browser sends the whole file first, then the fields typed below it: a body over the
    # limit plus the form's allowance, but within the drain limit, is read (the file dropped) for those fields.
    settings.MAX_UPLOAD_SIZE = 512 * 1024
    data = {"file": SimpleUploadedFile("big.txt", b"a" * (2 * 1024**2)), "title": "Big one",
            "description": "typed before choosing", "category": "letter", "tags": "kept, too"}
    response = alice_client.post(reverse("documents:upload"), data)
    assert response.status_code == 413
    page = response.content.decode()
    assert 'value="Big one"' in page and "typed before choosing" in page and 'value="kept, too"' in page
    assert '<option value="letter" selected>' in page
    assert "The file is larger than the 0.5 MB limit." in page and 'class="topbar"' in page
    assert not Document.objects.exists() and stored_files(isolated_storage) == []
    assert list((settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []


def test_a_body_beyond_the_drain_limit_is_still_refused_unread_with_the_site_navigation(alice_client, settings):
    settings.MAX_UPLOAD_SIZE = 512 * 1024
    from strongbox.documents.uploads import drain_limit

    response = alice_client.generic("POST", reverse("documents:upload"), b"",
                                    CONTENT_TYPE="multipart/form-data; boundary=x",
                                    CONTENT_LENGTH=str(drain_limit() + 1))
    assert response.status_code == 413
    page = response.content.decode()
    assert "Files can be at most 0.5 MB" in page and "Back to the upload form" in page
    assert 'class="topbar"' in page and ">alice</a>" in page


def test_it_enforces_the_document_count_quota(alice_client, uploaded, settings, isolated_storage):
    settings.QUOTA_DOCUMENTS = 1
    uploaded("txt")
    response = upload(alice_client, title="Second")
    assert response.status_code == 413
    assert "limit of 1 documents" in response.context["form"].errors["file"][0]
    assert Document.objects.count() == 1
    assert len(stored_files(isolated_storage)) == 1


def test_it_enforces_the_byte_quota(alice_client, settings, isolated_storage):
    settings.QUOTA_BYTES = 10
    response = upload(alice_client, content=b"eleven bytes")
    assert_rejected(response, 413, "file", "does not fit in your storage quota", isolated_storage)


def test_it_cleans_the_original_filename(alice_client):
    # CR/LF cannot travel in a multipart header; clean_filename's own tests cover them.
    name = "in\u202evoice\x07\x1b" + "é" * 300 + ".txt"
    assert upload(alice_client, filename=name).status_code == 302
    stored = Document.objects.get().original_filename
    assert "\u202e" not in stored and "\x07" not in stored and "\x1b" not in stored
    assert len(stored.encode()) <= 255
    assert stored.startswith("invoice") and stored.endswith(".txt")


def test_it_removes_the_file_when_the_database_write_fails(alice_client, isolated_storage, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("strongbox.documents.services.document_index", explode)
    with pytest.raises(RuntimeError):
        upload(alice_client)
    assert not Document.objects.exists()
    assert not Tag.objects.exists()
    assert stored_files(isolated_storage) == []


def test_it_rejects_a_request_without_a_file(alice_client):
    response = alice_client.post(reverse("documents:upload"), {"title": "No file", "category": "other"})
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["This field is required."]


def test_it_takes_two_files_in_one_request_as_a_batch(alice_client):
    # Several files in one form post are a batch, each with its result (docs/bulk-work.md, test_bulk_upload.py).
    response = alice_client.post(reverse("documents:upload"), {
        "title": "Two", "category": "other",
        "file": [SimpleUploadedFile("a.txt", b"a"), SimpleUploadedFile("b.txt", b"b")]})
    assert response.status_code == 200
    assert sorted(Document.objects.values_list("title", flat=True)) == ["Two", "Two (2)"]


def test_it_refuses_an_upload_without_a_csrf_token(alice, isolated_storage):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = upload(client)
    assert response.status_code == 403
    assert not Document.objects.exists()
    assert stored_files(isolated_storage) == []


def test_it_accepts_an_upload_with_the_csrf_token_from_the_form(alice, isolated_storage):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    token = csrf_token(client)
    assert upload(client, csrfmiddlewaretoken=token).status_code == 302


def test_it_streams_an_upload_to_disk_without_holding_it_in_memory(alice_client, isolated_storage):
    content = b"many words " * (1024 * 1024)  # 11 MB
    request = RequestFactory().post(reverse("documents:upload"), {
        "title": "Big", "category": "other", "file": SimpleUploadedFile("big.txt", content)})
    environ = {**request.environ, "HTTP_COOKIE": alice_client.cookies.output(header="", sep=";").strip()}
    handler = ClientHandler(enforce_csrf_checks=False)
    isolated_storage.exists("warm-up")  # connected once per process (an object store's client), not per upload
    gc.collect()
    tracemalloc.start()
    try:
        response = handler(environ)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 302
    assert Document.objects.get().size == len(content)
    assert peak < 3 * 1024 * 1024, f"the upload path held {peak / 1024**2:.1f} MB at its peak"
