"""The upload handlers of documents/uploads.py: the file is hashed while it streams to its temporary file, so
document_create stores it without reading it again; with Django's own temporary-file handler in their place the
service reads the file for its hash, as before. Either chain keeps the size limit and leaves no file behind."""

import hashlib
import io

import pytest
from django.core.files.uploadhandler import load_handler
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory

from helpers import stored_files, upload
from samples import SAMPLES
from strongbox.documents import uploads
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db

HASHING = ["strongbox.documents.uploads.SizeLimitUploadHandler", "strongbox.documents.uploads.HashingFileUploadHandler"]
DJANGOS = ["strongbox.documents.uploads.SizeLimitUploadHandler",
           "django.core.files.uploadhandler.TemporaryFileUploadHandler"]


def parse(content: bytes, names: list[str]):
    """Parse a multipart body carrying `content` as its file through the handlers named; return the parser's
    chunk size and the uploaded file."""
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n' + content
            + b"\r\n--b--\r\n")
    request = RequestFactory().post("/")
    handlers = [load_handler(name, request) for name in names]
    parser = MultiPartParser({"CONTENT_TYPE": "multipart/form-data; boundary=b", "CONTENT_LENGTH": str(len(body))},
                             io.BytesIO(body), handlers)
    _, files = parser.parse()
    return parser._chunk_size, files["file"]


def test_it_hashes_the_file_as_it_streams_in_with_bigger_chunks(settings):
    content = bytes(range(256)) * 5000  # 1.28 MB: several chunks, none of them aligned on the content
    chunk_size, uploaded = parse(content, HASHING)
    assert chunk_size == uploads.CHUNK
    assert uploaded.sha256 == hashlib.sha256(content).hexdigest()
    assert uploaded.read() == content
    assert uploaded.temporary_file_path().startswith(str(settings.FILE_UPLOAD_TEMP_DIR))
    uploaded.close()


@pytest.mark.parametrize("handlers", [HASHING, DJANGOS], ids=["hashing", "django"])
@pytest.mark.parametrize("extension", ["txt", "pdf", "docx"])
def test_it_stores_the_right_hash_with_either_handler_chain(alice_client, settings, isolated_storage, handlers,
                                                            extension, django_capture_on_commit_callbacks):
    settings.FILE_UPLOAD_HANDLERS = handlers
    filename, content, _ = SAMPLES[extension]
    with django_capture_on_commit_callbacks(execute=False):
        assert upload(alice_client, filename=filename, content=content).status_code == 302
    document = Document.objects.get()
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    with document.file.open("rb") as stored:
        assert stored.read() == content
    assert stored_files(isolated_storage) == [document.file.name]
    assert list(settings.FILE_UPLOAD_TEMP_DIR.iterdir()) == []


@pytest.mark.parametrize("handlers", [HASHING, DJANGOS], ids=["hashing", "django"])
def test_it_leaves_no_file_behind_for_a_file_over_the_limit(alice_client, settings, isolated_storage, handlers):
    settings.FILE_UPLOAD_HANDLERS = handlers
    settings.MAX_UPLOAD_SIZE = uploads.CHUNK + 10  # past the limit in the second chunk, after a first was written
    response = upload(alice_client, content=b"a" * (2 * uploads.CHUNK), title="Big one")
    assert response.status_code == 413
    assert not Document.objects.exists()
    assert stored_files(isolated_storage) == []
    assert list(settings.FILE_UPLOAD_TEMP_DIR.iterdir()) == []


@pytest.mark.parametrize("handlers", [HASHING, DJANGOS], ids=["hashing", "django"])
def test_it_leaves_no_file_behind_for_a_refused_content(alice_client, settings, isolated_storage, handlers):
    settings.FILE_UPLOAD_HANDLERS = handlers
    response = upload(alice_client, filename="notes.pdf", content=b"not a pdf at all" * 1000)
    assert response.status_code == 400
    assert stored_files(isolated_storage) == []
    assert list(settings.FILE_UPLOAD_TEMP_DIR.iterdir()) == []
