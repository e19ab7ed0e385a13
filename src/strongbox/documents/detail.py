"""What the detail page shows beside the document: one place for every view that renders it (the page itself,
and a refused form on it, e.g. an empty note), so none of them misses a part."""

from strongbox.documents import organize_views, selectors
from strongbox.documents.forms import VersionForm


def detail_context(user, document, **extra) -> dict:
    """The context of documents/detail.html for `document` (a selectors.DocumentRow the user may see)."""
    return {"document": document, "versions": selectors.versions_for_document(document.pk),
            "version_form": VersionForm(), **organize_views.notes_context(user, document), **extra}
