"""Notes: timestamped comments on a document, part of its search index entry (services.document_index).

Who may read, add and delete notes is decided here alone (`note_access`, `notes_document`), so that letting
other users do so (a document shared with them) is a change to these two functions.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from strongbox.documents import cache, selectors
from strongbox.documents.models import Document, Note

MAX_BODY_LENGTH = 4000
MAX_NOTES = 500


class NoteInvalid(ValidationError):
    """The note's text is not valid; the message says why."""


class NoteForbidden(Exception):
    """Only a note's author may delete it."""


@dataclass(frozen=True)
class NoteAccess:
    read: bool
    add: bool


def note_access(user, document: Document) -> NoteAccess:
    """Return what `user` may do with the notes of a document they can see: everyone who sees it reads them, its
    owner and the users who may edit it add them. Deleting a note is for its author alone (`note_delete`)."""
    from strongbox.sharing.selectors import READER, access  # sharing reads documents' selectors, as this does

    return NoteAccess(read=True, add=access(user, document) != READER)


def notes_document(user, public_id: str, request=None, *, add: bool = False) -> Document:
    """Return the document whose notes `user` wants to read (or, with `add`, to add to); Http404 alike for a
    missing document, one they cannot see and one whose notes they may not read or add to."""
    document = selectors.document_for_user(user, public_id, request)
    access = note_access(user, document)
    if not (access.add if add else access.read):
        raise Http404("No such document.")
    return document


def notes_for_document(document: Document) -> list[Note]:
    """Return the document's notes, newest first, with their authors."""
    return list(Note.objects.filter(document_id=document.pk).select_related("author"))



def clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise NoteInvalid("Write something first.", code="required")
    if len(body) > MAX_BODY_LENGTH:
        raise NoteInvalid(f"A note can be at most {MAX_BODY_LENGTH} characters long ({len(body)} now).",
                          code="too_long")
    if "\x00" in body:
        raise NoteInvalid("Null characters are not allowed.", code="invalid")
    return body


def _reindex(document: Document) -> None:
    from strongbox.documents import services

    services.document_index(document)
    cache.bump_document(document)  # search results and cached pages show the document's index entry


def note_create(*, document: Document, author, body: str) -> Note:
    """Add a note to a document (the caller checked `note_access`) and index its text with the document."""
    body = clean_body(body)
    with transaction.atomic():
        # Lock the document: two notes added at once must not index each other's text away.
        if not Document.objects.select_for_update().filter(pk=document.pk).exists():
            raise Http404("No such document.")
        if Note.objects.filter(document_id=document.pk).count() >= MAX_NOTES:
            raise NoteInvalid(f"A document can have at most {MAX_NOTES} notes.", code="too_many")
        note = Note.objects.create(document=document, author=author, body=body)
        _reindex(document)
    return note


def note_for_document(document: Document, note_id: int) -> Note:
    """Return one of the document's notes; Http404 if it has none with this id."""
    try:
        return Note.objects.select_related("author").get(document_id=document.pk, pk=note_id)
    except Note.DoesNotExist:
        raise Http404("No such note.") from None


def note_deletable(user, note: Note) -> bool:
    return note.author_id == user.pk


def note_delete(*, note: Note, user, document: Document) -> None:
    """Delete a note its author asks to delete and take its text out of the document's index entry;
    NoteForbidden for anyone else."""
    if not note_deletable(user, note):
        raise NoteForbidden()
    with transaction.atomic():
        Document.objects.select_for_update().filter(pk=document.pk).exists()
        note.delete()
        _reindex(document)
