"""The response that sends a stored document's file: used by the HTML download view and the API alike."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import content_disposition_header

from strongbox.documents.models import Document
from strongbox.lib.ranges import RangeNotSatisfiable, byte_range

# Types a browser shows without running anything; everything else downloads as an attachment.
INLINE_EXTENSIONS = {"pdf", "png", "jpeg", "txt"}
# Granian's WSGI interface sends each block the response yields as a write of its own, at a fixed cost per block
# (about 9 µs here), and has no wsgi.file_wrapper (sendfile). Django's FileResponse reads 4 KB blocks: 450 MB/s.
# 64 KB blocks reach 2.5-3 GB/s on loopback for a 256 MB file, the same as granian's own file response (RSGI);
# larger blocks gain nothing and granian queues several of them (1 MB: +9 MB worker RSS). See bench/files.py.
CHUNK = 64 * 1024
# A file, even one shown inline, may load nothing and run nothing on our origin. PDFs skip `sandbox`, which
# would stop the browser's PDF viewer; their scripts run inside that viewer, never in our pages' context.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
SANDBOXED_FILE_CSP = f"{FILE_CSP}; sandbox"


class _FileResponse(FileResponse):
    block_size = CHUNK  # Django's is 4 KB


def _read(handle, start: int, length: int):
    try:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def document_file_response(request: HttpRequest, document: Document) -> HttpResponse:
    """Stream the file with its original name, stored type, an ETag (304 on a match) and Range support."""
    etag = f'"{document.sha256}"'
    response = get_conditional_response(request, etag=etag)
    if response is None and settings.S3_PRESIGNED_DOWNLOADS:
        return _redirect_to_store(document)
    if response is None:
        response = _file_response(request, document)
        response["ETag"] = etag
    # Private content: neither shared caches nor the browser's disk may keep a copy.
    patch_cache_control(response, private=True, no_store=True)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP if document.extension == "pdf" else SANDBOXED_FILE_CSP
    return response


def _redirect_to_store(document: Document) -> HttpResponse:
    """Send the client to a short-lived signed URL of the object store, which then serves the bytes (and
    ranges) itself, with the same name and type as a download through Strongbox."""
    attachment = document.extension not in INLINE_EXTENSIONS
    url = default_storage.url(document.file.name, parameters={
        "ResponseContentType": document.content_type,
        "ResponseContentDisposition": content_disposition_header(attachment, document.original_filename),
        "ResponseCacheControl": "private, no-store",
    })
    response = HttpResponseRedirect(url)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _file_response(request: HttpRequest, document: Document) -> HttpResponse:
    attachment = document.extension not in INLINE_EXTENSIONS
    # A Range applies only if the client's copy is still current (If-Range), else it gets the whole file.
    if_range = request.headers.get("If-Range")
    wanted = request.headers.get("Range") if not if_range or if_range == f'"{document.sha256}"' else None
    try:
        span = byte_range(wanted, document.size)
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{document.size}"
        return response
    handle = default_storage.open(document.file.name, "rb")
    if span is None:
        response = _FileResponse(handle, as_attachment=attachment, filename=document.original_filename,
                                 content_type=document.content_type)
    else:
        first, last = span
        response = StreamingHttpResponse(_read(handle, first, last - first + 1), status=206,
                                         content_type=document.content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{document.size}"
        response["Content-Length"] = str(last - first + 1)
        response["Content-Disposition"] = content_disposition_header(attachment, document.original_filename)
    response["Accept-Ranges"] = "bytes"
    return response
