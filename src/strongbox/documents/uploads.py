"""What happens to an upload while the request body streams in: its size is enforced and it is hashed as it is
written to a temporary file, so nothing reads the bytes again before they are stored."""

import hashlib

from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, TemporaryFileUploadHandler
from django.http import HttpRequest
from django.urls import reverse

from strongbox.ops import metrics
from strongbox.ops.views import BodyTooLarge, bad_request

# Files one post of the upload form may carry (several files without JavaScript, docs/bulk-work.md); every
# other request one. settings.DATA_UPLOAD_MAX_NUMBER_FILES is Django's backstop above this.
BATCH_FILES = 100
BATCH_PATH = "/documents/upload/"
# A multipart body carries the form fields and boundaries besides the file itself.
FORM_OVERHEAD = 1024 * 1024
# Django's parser reads the body in the smallest chunk_size of the handlers. Its 64 KB default costs about 10 %
# of a large upload in per-chunk work; 256 KB saves most of it, and larger chunks nothing more (bench/files.py).
CHUNK = 256 * 1024


class TooManyFiles(TooManyFilesSent):
    """More files than the request may carry: one, or BATCH_FILES for the upload form."""

    def __init__(self, allowed: int):
        self.allowed = allowed
        super().__init__(f"At most {allowed} file(s) per request.")


class SizeLimitUploadHandler(FileUploadHandler):
    """Count each file's bytes as they arrive; past MAX_UPLOAD_SIZE drop the file and mark the request.

    Dropping (SkipFile) rather than aborting lets the parser read the remaining fields, so the form can come
    back with the user's input and a 413. The temporary file written so far is deleted by the parser.
    """

    chunk_size = CHUNK

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.request.files_started = getattr(self.request, "files_started", 0) + 1
        allowed = BATCH_FILES if self.request.path_info == BATCH_PATH else 1
        if self.request.files_started > allowed:
            raise TooManyFiles(allowed)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            self.request.upload_too_large = True
            # Which files: a post of several files answers for each one (bulk_views.py).
            if not hasattr(self.request, "uploads_too_large"):
                self.request.uploads_too_large = []
            self.request.uploads_too_large.append(self.file_name)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


class HashingFileUploadHandler(TemporaryFileUploadHandler):
    """Write each file to a temporary file on disk (never to memory), computing its SHA-256 on the way: the
    finished file carries it as `sha256`, which document_create stores instead of reading the file once more.

    The chunk is hashed while it is in the CPU's cache; a second pass would read the whole file back (measured on
    256 MB: the upload takes 0.45 s in-process instead of 0.55 s)."""

    chunk_size = CHUNK

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        self.digest.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size):
        upload = super().file_complete(file_size)
        upload.sha256 = self.digest.hexdigest()
        return upload


def body_too_large(request: HttpRequest) -> bool:
    """Return whether the declared body is beyond any acceptable upload, so it need not be read at all."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_UPLOAD_SIZE + FORM_OVERHEAD


# The upload page without JavaScript sends the file before the fields typed below it, so getting those back for the
# form means reading past the file. Up to this many times the limit, the body is read (the file's bytes dropped as
# they arrive) and the form comes back with the input and a 413; beyond, it is refused unread.
FORM_DRAIN_FACTOR = 4


def drain_limit() -> int:
    return FORM_DRAIN_FACTOR * settings.MAX_UPLOAD_SIZE + FORM_OVERHEAD


def _form_upload_to_drain(request: HttpRequest) -> bool:
    """Return whether an oversize body is the upload page's own form (not the API, not htmx, whose script never
    sends a file over the limit) and small enough to read for the fields it carries."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return (request.method == "POST" and request.path_info == reverse("documents:upload")
            and request.headers.get("HX-Request") != "true" and length <= drain_limit())


def upload_limit_mb() -> str:
    return f"{settings.MAX_UPLOAD_SIZE / 1024**2:g}"


class UploadSizeLimitMiddleware:
    """Refuse a request whose Content-Length exceeds the upload limit before anything reads its body, as every
    refused body is answered (a page, or problem+json on the API)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if body_too_large(request) and not _form_upload_to_drain(request):
            metrics.UPLOADS.labels("refused").inc()
            return bad_request(request, BodyTooLarge())
        return self.get_response(request)
