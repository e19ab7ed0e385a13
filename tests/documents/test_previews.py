"""Previews: rendered after upload in the limited child, stored beside the file, served with the document's access
checks and an ETag, shown on the list's cards (constant queries) and the detail page; hostile files get none."""

import io
import struct
import zlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from fpdf import FPDF
from PIL import Image

from helpers import preview_files, stored_files, upload
from hostile_pdf import page_tree_bomb
from samples import FIXED_TIME, SAMPLES
from strongbox.documents import cache, previews, selectors
from strongbox.documents.models import Document, PreviewStatus
from strongbox.documents.services import document_index

pytestmark = pytest.mark.django_db
MISSING = "AAAAAAAAAAAAAAAAAAAAAA"
LIST = reverse("documents:list")


def picture(extension: str, size=(400, 300)) -> bytes:
    """A real PNG or JPEG (the 1x1 JPEG of samples.py is truncated: no decoder that checks its data reads it)."""
    image = Image.new("RGB", size, (40, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG" if extension == "png" else "JPEG")
    return buffer.getvalue()


def pdf_pages(count: int) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_font("Helvetica", size=24)
    for number in range(1, count + 1):
        pdf.add_page()
        pdf.cell(0, 20, f"Page number {number}")
    return bytes(pdf.output())


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def decompression_bomb(side: int = 12_000) -> bytes:
    """A real greyscale PNG of side x side black pixels: 144 MB of pixels in about 150 KB."""
    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0 and the row's pixels
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return png_declaring(side, side, idat)


FILES = {
    "pdf": ("report.pdf", SAMPLES["pdf"][1]),
    "png": ("picture.png", picture("png")),
    "jpeg": ("photo.jpeg", picture("jpeg")),
    "txt": ("notes.txt", SAMPLES["txt"][1]),
    "md": ("readme.md", SAMPLES["md"][1]),
    "csv": ("prices.csv", SAMPLES["csv"][1]),
    "docx": ("letter.docx", SAMPLES["docx"][1]),
    "xlsx": ("budget.xlsx", SAMPLES["xlsx"][1]),
}


@pytest.fixture
def add(alice_client, django_capture_on_commit_callbacks):
    """Upload a file as alice, running its background jobs (text, previews); return its document."""

    def make(filename: str, content: bytes, title: str | None = None) -> Document:
        title = title or f"{filename} {Document.objects.count()}"
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(alice_client, filename=filename, content=content, title=title)
        assert response.status_code == 302, response.content.decode()[:500]
        return Document.objects.get(title=title)

    return make


def thumbnail_url(document: Document) -> str:
    return reverse("documents:thumbnail", args=[document.public_id])


def page_url(document: Document, page: int) -> str:
    return reverse("documents:preview_page", args=[document.public_id, page])


def image_of(response) -> Image.Image:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Image.open(io.BytesIO(body))


@pytest.mark.parametrize("extension", sorted(FILES))
def test_it_renders_a_thumbnail_for_each_type(extension, add, alice_client, isolated_storage):
    document = add(*FILES[extension])
    assert document.preview_status == PreviewStatus.READY, document.preview_error
    response = alice_client.get(thumbnail_url(document))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    image = image_of(response)
    assert image.format == "WEBP" and image.width <= 240 and image.height <= 320
    expected_pages = {"pdf": 1, "png": 1, "jpeg": 1}.get(extension, 0)
    assert document.preview_pages == expected_pages
    # Beside the file, in the same store, under names made of its blob name.
    names = preview_files(isolated_storage)
    assert len(names) == 1 + expected_pages
    assert all(name.startswith(f"{document.file.name}.preview/{document.preview_key}/") for name in names)


def test_it_renders_every_page_of_a_pdf_and_shows_them_as_images(add, alice_client):
    document = add("three.pdf", pdf_pages(3))
    assert (document.preview_pages, document.page_count) == (3, 3)
    for page in (1, 2, 3):
        response = alice_client.get(page_url(document, page))
        assert response.status_code == 200
        assert image_of(response).width == 1000
    assert alice_client.get(page_url(document, 4)).status_code == 404
    assert alice_client.get(reverse("documents:detail", args=[document.public_id]) + "preview/0/").status_code == 404
    page = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    for number in (1, 2, 3):
        assert f'src="{page_url(document, number)}?v={document.preview_key}"' in page
    assert page.count('loading="lazy"') == 3
    assert "<iframe" not in page and "<embed" not in page and "<object" not in page


def test_it_pages_a_long_pdf_ten_pages_at_a_time(add, alice_client):
    document = add("long.pdf", pdf_pages(12))
    detail = reverse("documents:detail", args=[document.public_id])
    first = alice_client.get(detail).content.decode()
    assert first.count('class="page"') == 10 and "More pages" in first and "Previous pages" not in first
    second = alice_client.get(detail, {"pages": 2}).content.decode()
    assert second.count('class="page"') == 2 and "Previous pages" in second and "Page 12 of 12" in second
    for bad in ("3", "0", "x", "-1"):
        assert alice_client.get(detail, {"pages": bad}).status_code == 404


def test_it_renders_at_most_preview_max_pages_and_says_so(add, alice_client, settings):
    settings.PREVIEW_MAX_PAGES = 2
    document = add("three.pdf", pdf_pages(3))
    assert (document.preview_pages, document.page_count) == (2, 3)
    page = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    assert "The preview shows the first 2 of 3 pages" in page


def test_it_caps_the_pages_of_a_page_tree_bomb(add, settings):
    settings.PREVIEW_MAX_PAGES = 5
    document = add("tree.pdf", page_tree_bomb())
    assert document.preview_status == PreviewStatus.READY
    assert (document.preview_pages, document.page_count) == (5, 1000)


def test_it_answers_a_current_etag_with_304(add, alice_client):
    document = add(*FILES["png"])
    for url in (thumbnail_url(document), page_url(document, 1)):
        first = alice_client.get(url)
        etag = first["ETag"]
        assert etag.startswith('"') and not etag.startswith('W/')
        assert "private" in first["Cache-Control"]
        assert first["X-Content-Type-Options"] == "nosniff"
        again = alice_client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304 and again.content == b""
        assert alice_client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert alice_client.get(thumbnail_url(document))["ETag"] != alice_client.get(page_url(document, 1))["ETag"]


@pytest.mark.parametrize("which", ["thumbnail", "page"])
def test_it_answers_an_outsider_exactly_like_a_missing_document(which, add, bob_client):
    document = add(*FILES["png"])
    if which == "thumbnail":
        theirs, missing = (reverse("documents:thumbnail", args=[public_id]) for public_id in (document.public_id,
                                                                                              MISSING))
    else:
        theirs, missing = (reverse("documents:preview_page", args=[public_id, 1])
                           for public_id in (document.public_id, MISSING))
    theirs_response, missing_response = bob_client.get(theirs), bob_client.get(missing)
    assert theirs_response.status_code == missing_response.status_code == 404
    assert theirs_response.content == missing_response.content


@pytest.mark.parametrize("which", ["thumbnail", "page"])
def test_it_sends_anonymous_users_to_sign_in(which, add, anonymous_client):
    document = add(*FILES["png"])
    url = thumbnail_url(document) if which == "thumbnail" else page_url(document, 1)
    response = anonymous_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("filename, content, reason", [
    ("huge.png", png_declaring(100_000, 100_000, zlib.compress(b"\x00" * 100)), "too large"),
    ("bomb.png", decompression_bomb(), "too large"),
    ("broken.pdf", b"%PDF-1.7\nthis is not really a PDF\n%%EOF\n", "damaged"),
])
def test_a_hostile_file_ends_with_no_preview_and_no_leftover(filename, content, reason, add, alice_client,
                                                              isolated_storage, settings):
    document = add(filename, content)
    assert document.preview_status == PreviewStatus.FAILED
    assert reason in document.preview_error
    assert preview_files(isolated_storage) == []
    assert list(settings.FILE_UPLOAD_TEMP_DIR.iterdir()) == []
    assert alice_client.get(thumbnail_url(document)).status_code == 404
    detail = alice_client.get(reverse("documents:detail", args=[document.public_id]))
    assert detail.status_code == 200 and b"No preview:" in detail.content
    listing = alice_client.get(LIST)
    assert listing.status_code == 200 and b'class="thumb no-preview"' in listing.content


def test_a_second_rendering_replaces_the_first_and_its_files(add, isolated_storage, django_capture_on_commit_callbacks):
    document = add("two.pdf", pdf_pages(2))
    first = set(preview_files(isolated_storage))
    with django_capture_on_commit_callbacks(execute=True):
        previews.document_previews_render(document_id=document.pk)
    document.refresh_from_db()
    second = set(preview_files(isolated_storage))
    assert document.preview_status == PreviewStatus.READY and len(second) == 3
    assert not first & second
    assert all(f"/{document.preview_key}/" in name for name in second)


def test_queueing_renders_again_and_the_list_shows_a_placeholder_meanwhile(add, alice_client,
                                                                         django_capture_on_commit_callbacks):
    document = add(*FILES["txt"])
    previews.document_previews_queue(document)  # not committed yet: the job has not run
    assert Document.objects.get(pk=document.pk).preview_status == PreviewStatus.PENDING
    assert b'class="thumb pending"' in alice_client.get(LIST).content
    key = document.preview_key
    with django_capture_on_commit_callbacks(execute=True):
        previews.document_previews_queue(document)
    document.refresh_from_db()
    assert document.preview_status == PreviewStatus.READY and document.preview_key != key


def test_the_trash_keeps_the_previews_and_deleting_for_good_deletes_them(add, alice_client, isolated_storage,
                                                                          django_capture_on_commit_callbacks):
    document = add("two.pdf", pdf_pages(2))
    images = preview_files(isolated_storage)
    assert images
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("documents:delete", args=[document.public_id]))
    assert preview_files(isolated_storage) == images  # restored, it shows them again
    assert previews.orphan_previews_remove(older_than=timedelta(0)) == 0
    assert preview_files(isolated_storage) == images
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("documents:trash_purge", args=[document.public_id]))
    assert response.status_code == 302
    assert stored_files(isolated_storage, previews=True) == []


def test_a_new_file_gets_new_previews_and_the_old_ones_go(add, isolated_storage,
                                                          django_capture_on_commit_callbacks):
    """What a new version does: replace the file, then queue the previews naming the file it replaced."""
    document = add("two.pdf", pdf_pages(2))
    old_file = document.file.name
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        new_file = isolated_storage.save(f"{old_file}-v2", ContentFile(pdf_pages(3)))
        Document.objects.filter(pk=document.pk).update(file=new_file)
        previews.document_previews_queue(document, previous_file=old_file)
    document.refresh_from_db()
    assert (document.preview_status, document.preview_pages) == (PreviewStatus.READY, 3)
    assert preview_files(isolated_storage) == sorted(previews.preview_name(new_file, document.preview_key, page)
                                                     for page in range(4))


def test_the_sweep_removes_previews_no_document_shows(add, isolated_storage):
    document = add(*FILES["png"])
    kept = preview_files(isolated_storage)
    stray = previews.preview_name(document.file.name, "0123456789abcdef", previews.THUMBNAIL)
    gone = previews.preview_name("documents/zz/nodocument", "0123456789abcdef", 1)
    for name in (stray, gone):
        isolated_storage.save(name, ContentFile(b"x"))
    assert previews.orphan_previews_remove(older_than=timedelta(hours=1)) == 0  # too recent: maybe in progress
    assert previews.orphan_previews_remove(older_than=timedelta(seconds=-60)) == 2
    assert preview_files(isolated_storage) == kept


def test_the_command_queues_documents_without_previews(add, django_capture_on_commit_callbacks, capsys):
    document = add(*FILES["png"])
    Document.objects.filter(pk=document.pk).update(preview_status=PreviewStatus.NONE)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("previews")
    assert "Queued the previews of 1 document." in capsys.readouterr().out
    document.refresh_from_db()
    assert document.preview_status == PreviewStatus.READY
    with django_capture_on_commit_callbacks(execute=True):
        call_command("previews")
    assert "Queued the previews of 0 documents." in capsys.readouterr().out


def test_it_shows_a_text_file_as_escaped_text(add, alice_client):
    document = add("page.txt", b"Tom & Jerry <b onclick='x()'>bold</b> and more\n")
    page = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    assert "Tom &amp; Jerry &lt;b onclick=" in page and "<b onclick" not in page
    assert '<pre class="text-preview">' in page


def test_it_shows_an_image_scaled(add, alice_client):
    document = add("big.png", picture("png", size=(3000, 1000)))
    image = image_of(alice_client.get(page_url(document, 1)))
    assert image.size == (1600, 533)
    page = alice_client.get(reverse("documents:detail", args=[document.public_id])).content.decode()
    assert f'src="{page_url(document, 1)}?v={document.preview_key}"' in page


def test_it_shows_thumbnails_on_the_list(add, alice_client):
    document = add(*FILES["pdf"])
    page = alice_client.get(LIST).content.decode()
    assert f'src="{thumbnail_url(document)}?v={document.preview_key}"' in page
    assert 'loading="lazy"' in page and 'width="60" height="80"' in page


def test_the_list_issues_the_same_number_of_queries_with_one_and_fifty_thumbnails(
        alice_client, alice, django_capture_on_commit_callbacks):
    def add_rows(count: int, start: int) -> int:
        for document in Document.objects.bulk_create([
            Document(owner=alice, title=f"Doc {start + i}", file=f"documents/x/{start + i}", extension="pdf",
                     original_filename="a.pdf", content_type="application/pdf", size=1, sha256="0" * 64,
                     preview_status=PreviewStatus.READY, preview_key=f"{start + i:016x}", preview_pages=1)
            for i in range(count)
        ]):
            document_index(document)
        with django_capture_on_commit_callbacks(execute=True):
            cache.bump(alice.pk)
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(LIST)
        assert response.status_code == 200
        assert response.content.count(b'/preview/thumb/?v=') == start + count
        return len(queries)

    alice_client.get(LIST)  # the session's first request records its start: not part of the list's cost
    assert add_rows(1, 0) == add_rows(49, 1)


def test_the_rows_carry_the_preview_fields(add, alice):
    document = add(*FILES["pdf"])
    row = selectors.document_row(alice, document.public_id)
    assert (row.preview_status, row.preview_key, row.preview_pages) == ("ready", document.preview_key, 1)


def test_image_response_serves_a_document_without_a_user_check(add, rf):
    """For other features' public pages (share links): the caller has decided who may see the document."""
    document = add(*FILES["png"])
    response = previews.image_response(rf.get("/"), document, previews.THUMBNAIL)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"


def test_the_detail_page_says_when_the_preview_is_being_prepared(alice, alice_client):
    document = Document.objects.create(owner=alice, title="Waiting", file="documents/x/waiting", extension="pdf",
                                       original_filename="a.pdf", content_type="application/pdf", size=1,
                                       sha256="0" * 64, preview_status=PreviewStatus.PENDING)
    page = alice_client.get(reverse("documents:detail", args=[document.public_id]))
    assert page.status_code == 200 and b"The preview is being prepared" in page.content
    assert alice_client.get(thumbnail_url(document)).status_code == 404


def test_an_owners_extraction_and_rendering_share_one_slot(alice, bob, settings):
    """One user's uploads take EXTRACTIONS_PER_OWNER worker threads in all, not that many per kind of work."""
    from strongbox.documents import tasks
    from strongbox.ops import jobs

    settings.EXTRACTIONS_PER_OWNER = 1
    extraction = tasks.extract_document_text(document_id=1, group=tasks.extraction_group(alice.pk))
    rendering = tasks.render_document_previews(document_id=1, group=tasks.extraction_group(alice.pk))
    others = tasks.render_document_previews(document_id=2, group=tasks.extraction_group(bob.pk))
    assert jobs._claim(extraction.pk) is not None  # running
    assert jobs._claim(rendering.pk) is None  # alice's slot is taken
    assert jobs._claim(others.pk) is not None  # bob's is free
