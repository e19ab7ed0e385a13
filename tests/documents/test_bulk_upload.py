"""Several files at once: titles from file names made unique, duplicates flagged, a result for each file (one
form post without JavaScript, or one request per file to upload/file/ with it)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpers import make_documents, stored_files, upload
from samples import png_bytes
from strongbox.documents import intake, services
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db
UPLOAD = reverse("documents:upload")
UPLOAD_FILE = reverse("documents:upload_file")


def post_files(client, files: list[tuple[str, bytes]], **fields):
    data = {"title": "", "description": "", "category": "other", "tags": "", **fields,
            "file": [SimpleUploadedFile(name, content) for name, content in files]}
    return client.post(UPLOAD, data)


def post_one(client, name: str = "scan.txt", content: bytes = b"scanned words\n", **fields):
    data = {"title": "", "description": "", "category": "other", "tags": "", **fields,
            "file": SimpleUploadedFile(name, content)}
    return client.post(UPLOAD_FILE, data)


@pytest.mark.parametrize(("filename", "title"), [
    ("Invoice.pdf", "Invoice"),
    ("scans/2026_03_bank_statement.PDF", "2026 03 bank statement"),
    ("C:\\Users\\me\\Tax return.final.docx", "Tax return.final"),
    ("  .hidden.txt", "hidden"),
    (".pdf", "pdf"),
    ("...", "Document"),
    ("\u202eevil\u202d.txt", "evil"),
    ("x" * 300 + ".txt", "x" * 93),
])
def test_it_makes_a_title_from_a_file_name(filename, title):
    assert intake.title_from_filename(filename) == title


def test_it_takes_the_title_from_the_file_name_and_numbers_repeats_case_insensitively(alice_client, alice):
    make_documents(alice, 1)
    Document.objects.filter(owner=alice).update(title="invoice")
    for content in (b"one\n", b"two\n", b"three\n"):
        assert upload(alice_client, title="", filename="Invoice.txt", content=content).status_code == 302
    titles = sorted(Document.objects.filter(owner=alice).values_list("title", flat=True))
    assert titles == ["Invoice (2)", "Invoice (3)", "Invoice (4)", "invoice"]


def test_it_numbers_titles_per_owner(alice_client, bob, bob_client):
    upload(bob_client, title="", filename="Lease.txt")
    upload(alice_client, title="", filename="Lease.txt")
    assert Document.objects.get(owner__username="alice").title == "Lease"


def test_it_retries_with_the_next_number_when_a_concurrent_upload_takes_the_title(alice, alice_client,
                                                                                  monkeypatch):
    chosen = intake.next_free_title

    def racing(owner, base):
        title = chosen(owner, base)
        if len(calls) < 2:
            # Another request (a rename) takes the same title between our look and our insert.
            make_documents(owner, 1)
            Document.objects.filter(owner=owner, title="Doc 000").update(title=title)
        calls.append(title)
        return title

    calls = []
    monkeypatch.setattr(intake, "next_free_title", racing)
    response = upload(alice_client, title="", filename="Report.txt")
    assert response.status_code == 302
    assert calls == ["Report", "Report (2)", "Report (3)"]
    assert sorted(Document.objects.values_list("title", flat=True)) == ["Report", "Report (2)", "Report (3)"]
    assert Document.objects.exclude(file__startswith="documents/x/").get().title == "Report (3)"


def test_it_keeps_a_typed_title_strict(alice_client, uploaded):
    uploaded("txt", title="Tax")
    response = upload(alice_client, title="tax")
    assert response.status_code == 400
    assert "already have a document with this title" in response.context["form"].errors["title"][0]


def test_it_stores_the_same_file_again_but_says_it_is_a_duplicate(alice_client):
    upload(alice_client, title="First", content=b"same bytes\n")
    response = upload(alice_client, title="", content=b"same bytes\n")
    response = alice_client.get(response["Location"])
    assert Document.objects.count() == 2
    assert "The same file was already uploaded as “First”." in response.content.decode()


def test_it_lists_a_result_for_each_file_of_one_form_post(alice_client, settings, isolated_storage):
    settings.MAX_UPLOAD_SIZE = 1000
    upload(alice_client, title="Old", content=b"old bytes\n")
    response = post_files(alice_client, [("notes.txt", b"new words\n"), ("again.txt", b"old bytes\n"),
                                         ("big.txt", b"a" * 2000), ("tool.exe", b"MZ\x90")])
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 of 4 files uploaded" in page
    notes, again = Document.objects.get(title="notes"), Document.objects.get(title="again")
    assert f'href="/documents/{notes.public_id}/"' in page
    assert "Already uploaded as" in page and f'href="/documents/{Document.objects.get(title="Old").public_id}/"' in page
    assert "big.txt" in page and "The file is larger than the" in page
    assert "are not accepted" in page
    assert again.sha256 == Document.objects.get(title="Old").sha256
    assert len(stored_files(isolated_storage)) == 3


def test_it_numbers_a_title_typed_for_several_files(alice_client):
    response = post_files(alice_client, [("a.txt", b"a\n"), ("b.txt", b"b\n"), ("c.txt", b"c\n")], title="Scan",
                          tags="inbox")
    assert response.status_code == 200
    assert sorted(Document.objects.values_list("title", flat=True)) == ["Scan", "Scan (2)", "Scan (3)"]
    assert all([t.name for t in d.tags.all()] == ["inbox"] for d in Document.objects.all())


def test_it_answers_400_when_no_file_of_a_post_was_stored(alice_client, isolated_storage):
    response = post_files(alice_client, [("a.exe", b"MZ"), ("b.exe", b"MZ")])
    assert response.status_code == 400
    assert "0 of 2 files uploaded" in response.content.decode()
    assert not Document.objects.exists() and stored_files(isolated_storage) == []


def test_it_refuses_bad_fields_for_every_file_of_a_post(alice_client):
    response = post_files(alice_client, [("a.txt", b"a\n"), ("b.txt", b"b\n")], category="weapons")
    assert response.status_code == 400
    assert response.content.decode().count("Select a valid choice") == 2


def test_it_sends_anonymous_batch_posts_to_sign_in(anonymous_client, isolated_storage):
    response = post_files(anonymous_client, [("a.txt", b"a\n"), ("b.txt", b"b\n")])
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert stored_files(isolated_storage) == []


# ---------- one file per request (the page's script) ----------

def test_it_answers_one_stored_file_as_json(alice_client):
    response = post_one(alice_client, "Bank_statement.txt", tags="bank")
    assert response.status_code == 201
    body = response.json()
    document = Document.objects.get()
    assert document.title == "Bank statement" and [t.name for t in document.tags.all()] == ["bank"]
    assert body == {"filename": "Bank_statement.txt", "status": "stored", "message": "Stored as “Bank statement”.",
                    "document": {"title": "Bank statement", "url": f"/documents/{document.public_id}/"},
                    "duplicate_of": None}


def test_it_flags_a_duplicate_in_the_json_answer(alice_client):
    first = post_one(alice_client, "a.txt", b"same\n").json()["document"]
    body = post_one(alice_client, "b.txt", b"same\n").json()
    assert body["status"] == "stored" and body["duplicate_of"] == first
    assert Document.objects.count() == 2


def test_it_does_not_flag_another_users_file_as_a_duplicate(alice_client, bob_client):
    post_one(bob_client, "a.txt", b"same\n")
    assert post_one(alice_client, "a.txt", b"same\n").json()["duplicate_of"] is None


@pytest.mark.parametrize(("name", "content", "status", "message"), [
    ("tool.exe", b"MZ", 400, "are not accepted"),
    ("picture.pdf", png_bytes(), 400, "not a PDF"),
    ("empty.txt", b"", 400, "empty"),
])
def test_it_answers_a_refused_file_with_its_reason(alice_client, isolated_storage, name, content, status, message):
    response = post_one(alice_client, name, content)
    assert response.status_code == status
    assert response.json()["status"] == "refused" and message in response.json()["message"]
    assert not Document.objects.exists() and stored_files(isolated_storage) == []


def test_it_answers_a_file_over_the_limit_with_413(alice_client, settings, isolated_storage):
    settings.MAX_UPLOAD_SIZE = 1000
    response = post_one(alice_client, "big.txt", b"a" * 2000)
    assert response.status_code == 413 and "larger than the" in response.json()["message"]
    assert stored_files(isolated_storage) == []


def test_it_answers_a_file_over_the_quota_with_413(alice_client, settings, isolated_storage):
    settings.QUOTA_DOCUMENTS = 1
    post_one(alice_client, "a.txt", b"a\n")
    response = post_one(alice_client, "b.txt", b"b\n")
    assert response.status_code == 413 and "limit of 1 documents" in response.json()["message"]
    assert Document.objects.count() == 1


def test_it_answers_400_without_exactly_one_file(alice_client):
    response = alice_client.post(UPLOAD_FILE, {"category": "other", "file": [
        SimpleUploadedFile("a.txt", b"a\n"), SimpleUploadedFile("b.txt", b"b\n")]})
    assert response.status_code == 400 and "Send one file per upload" in response.content.decode()
    response = alice_client.post(UPLOAD_FILE, {"category": "other"})
    assert response.status_code == 400 and response.json()["status"] == "refused"
    assert not Document.objects.exists()


def test_it_refuses_a_form_post_of_more_files_than_a_batch_may_hold(alice_client, isolated_storage):
    response = post_files(alice_client, [(f"{i}.txt", b"x\n") for i in range(101)])
    assert response.status_code == 400 and "Send at most 100 files at once" in response.content.decode()
    assert not Document.objects.exists() and stored_files(isolated_storage) == []


def test_it_answers_anonymous_file_uploads_with_401(anonymous_client, isolated_storage):
    response = post_one(anonymous_client)
    assert response.status_code == 401 and response.json()["status"] == "refused"
    assert stored_files(isolated_storage) == []


def test_it_only_accepts_posts_of_files(alice_client):
    assert alice_client.get(UPLOAD_FILE).status_code == 405


def test_it_shows_the_upload_page_with_a_multiple_file_picker_and_drop_zone(alice_client):
    page = alice_client.get(UPLOAD).content.decode()
    assert 'type="file"' in page and "multiple" in page and "data-drop-zone" in page
    assert f'data-file-url="{UPLOAD_FILE}"' in page


def test_it_raises_title_taken_only_after_every_attempt(alice, monkeypatch):
    monkeypatch.setattr(intake, "next_free_title", lambda owner, base: "Taken")
    make_documents(alice, 1)
    Document.objects.update(title="Taken")
    from strongbox.lib.sniff import ALLOWED_EXTENSIONS
    with pytest.raises(services.TitleTaken):
        intake.document_create_named(owner=alice, title="", description="", category="other", tags=[],
                                     upload=SimpleUploadedFile("x.txt", b"x\n"), kind=ALLOWED_EXTENSIONS["txt"])
    assert Document.objects.count() == 1
