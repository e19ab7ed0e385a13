"""What the detail page shows beside the document: one place for every view that renders it (the page itself,
and a refused form on it, e.g. an empty note), so none of them misses a part."""

from strongbox.documents import organize_views, previews, selectors
from strongbox.documents.forms import VersionForm
from strongbox.sharing import views as sharing_views


def detail_context(request, document, **extra) -> dict:
    """The context of documents/detail.html for `document` (a selectors.DocumentRow the user may see): its
    preview, versions, notes, and what the user may do with it (sharing: owner, editor or reader)."""
    sharing = sharing_views.detail_context(request, document)
    owner = sharing["access"] == "owner"
    return {"document": document, "preview": previews.detail_context(request, document),
            "versions": selectors.versions_for_document(document.pk),
            "version_form": VersionForm() if owner else None, **organize_views.notes_context(request.user, document),
            **sharing, **extra}
