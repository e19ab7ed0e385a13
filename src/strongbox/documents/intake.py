"""Documents coming in without a typed title: the upload form, the API and `strongbox import` name them after
their file, unique among the owner's documents ("Invoice", "Invoice (2)", …), and say when the same file is
already stored. One rule, in one place (docs/bulk-work.md)."""

import re
import unicodedata
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile

from strongbox.documents import services
from strongbox.documents.models import Document
from strongbox.lib.filenames import clean_filename
from strongbox.lib.sniff import FileKind

TITLE_MAX = Document._meta.get_field("title").max_length
# Room kept at the end of a title from a file name for " (9999)".
NUMBER_ROOM = 7
FALLBACK_TITLE = "Document"
_SEPARATORS = re.compile(r"[_\s]+")
_NUMBERED = re.compile(r"^(?P<base>.*) \((?P<number>\d+)\)$")


def title_from_filename(filename: str) -> str:
    """Return a title for a file: its cleaned name without directories or extension, underscores as spaces,
    short enough to take a " (n)" suffix; "Document" when nothing is left."""
    name = clean_filename(filename, fallback_extension="x")
    if name == "document.x":  # nothing was left of the name
        return FALLBACK_TITLE
    stem, dot, _ = name.rpartition(".")
    stem = stem if dot and stem else name
    stem = unicodedata.normalize("NFC", _SEPARATORS.sub(" ", stem)).strip(" .-")
    stem = stem[:TITLE_MAX - NUMBER_ROOM].rstrip(" .-")
    return stem or FALLBACK_TITLE


def next_free_title(owner, base: str) -> str:
    """Return `base`, or `base (n)` with the smallest n ≥ 2 that none of the owner's documents uses (titles
    compare case-insensitively, as the unique constraint does)."""
    base = base[:TITLE_MAX - NUMBER_ROOM]
    taken = {title.lower() for title in
             Document.objects.filter(owner=owner, title__istartswith=base).values_list("title", flat=True)}
    if base.lower() not in taken:
        return base
    numbers = set()
    for title in taken:
        match = _NUMBERED.match(title)
        if match and match["base"] == base.lower():
            numbers.add(int(match["number"]))
    number = 2
    while number in numbers:
        number += 1
    return f"{base} ({number})"


def duplicate_of(owner, sha256: str) -> Document | None:
    """Return the owner's oldest document whose file has this SHA-256, None if there is none."""
    return Document.objects.filter(owner=owner, sha256=sha256).order_by("created_at", "id").first()


@dataclass(frozen=True)
class Created:
    document: Document
    duplicate_of: Document | None  # the owner's document with the same file, found before this one was stored


def document_create_named(*, owner, title: str, description: str, category: str, tags: list[str],
                          upload: UploadedFile, kind: FileKind, numbered: bool = False) -> Created:
    """Create a document as services.document_create does; with an empty `title`, name it after its file, made
    unique among the owner's documents. Race-safe: when a concurrent upload takes the chosen title first (the
    unique constraint answers TitleTaken), try the next free one. A typed title is used as it is (TitleTaken if
    it is in use), unless `numbered` (one title typed for several files): then it is made unique the same way.
    The result says which of the owner's documents already had the same file."""
    duplicate = duplicate_of(owner, services._sha256(upload))
    fields = {"owner": owner, "description": description, "category": category, "tags": tags, "upload": upload,
              "kind": kind}
    if title and not numbered:
        return Created(services.document_create(title=title, **fields), duplicate)
    base = title[:TITLE_MAX - NUMBER_ROOM].rstrip() if title else title_from_filename(upload.name)
    # Chosen inside document_create's transaction, after the owner's uploads are serialized, and chosen again
    # if the insert still meets a title taken meanwhile.
    return Created(services.document_create(title=lambda: next_free_title(owner, base), **fields), duplicate)
