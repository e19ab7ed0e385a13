"""Reproduce a concurrent request deterministically: run a change right after a view has read the document."""

from collections.abc import Callable

from strongbox.documents import selectors
from strongbox.documents.models import Document


def after_read(monkeypatch, change: Callable[[Document], None]) -> None:
    """Make the next view that reads a document run `change` on the stored row just after reading it, as another
    request finishing in between would."""
    read = selectors.document_for_user
    done = []

    def reading(user, public_id, request=None):
        document = read(user, public_id, request)
        if not done:
            done.append(True)
            change(Document.objects.get(pk=document.pk))
        return document

    monkeypatch.setattr(selectors, "document_for_user", reading)
