"""Upload size enforcement while the request body streams in."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from strongbox.ops.views import BodyTooLarge, bad_request

# A multipart body carries the form fields and boundaries besides the file itself.
FORM_OVERHEAD = 1024 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    """Count each file's bytes as they arrive; past MAX_UPLOAD_SIZE drop the file and mark the request.

    Dropping (SkipFile) rather than aborting lets the parser read the remaining fields, so the form can come
    back with the user's input and a 413. The temporary file written so far is deleted by the parser.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            self.request.upload_too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


def body_too_large(request: HttpRequest) -> bool:
    """Return whether the declared body is beyond any acceptable upload, so it need not be read at all."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_UPLOAD_SIZE + FORM_OVERHEAD


def upload_limit_mb() -> str:
    return f"{settings.MAX_UPLOAD_SIZE / 1024**2:g}"


class UploadSizeLimitMiddleware:
    """Refuse a request whose Content-Length exceeds the upload limit before anything reads its body, as every
    refused body is answered (a page, or problem+json on the API)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if body_too_large(request):
            return bad_request(request, BodyTooLarge())
        return self.get_response(request)
