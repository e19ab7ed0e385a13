"""What the share-link page shows of a document before it is downloaded.

Text documents show their first lines (from the extracted text, escaped by the template). Images of pages come
from the previews feature once it is merged: the page has a marked place for them (sharing/link_page.html)."""

from strongbox.documents.models import DocumentText

TEXT_EXTENSIONS = {"txt", "md", "csv", "json", "xml", "html"}
PREVIEW_LINES = 30
PREVIEW_CHARS = 4000


def preview_text(document) -> str:
    """Return the first lines of a text document's text ("" for other types, or before its text is extracted)."""
    if document.extension not in TEXT_EXTENSIONS and not document.content_type.startswith("text/"):
        return ""
    body = DocumentText.objects.filter(document_id=document.pk).values_list("body", flat=True).first() or ""
    return "\n".join(body[:PREVIEW_CHARS].splitlines()[:PREVIEW_LINES])
