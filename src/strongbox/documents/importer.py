"""`strongbox import`: files from a folder tree stored as documents, each through the upload's own validation
(UploadForm: type sniffing, archive limits, the size limit) and services (quota, the unique title from the file
name, the durable extraction job), so an imported document is exactly what an uploaded one would be.

Resumable by construction: a document is created in one transaction, and a file whose SHA-256 the owner already
has is skipped, so after an interruption (Ctrl-C, SIGKILL) running the same import again stores only what is
missing. A kill between storing the file and committing its row leaves no document, only an unreferenced file
that services.orphan_files_remove deletes later.
"""

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.http import QueryDict

from strongbox.documents import intake, services
from strongbox.documents.forms import UploadForm
from strongbox.documents.models import Document

CHUNK = 256 * 1024


@dataclass(frozen=True)
class ImportResult:
    path: Path
    outcome: str  # "imported", "duplicate" (skipped) or "refused"
    message: str
    document: Document | None = None


def files_under(paths: list[Path]) -> Iterator[Path]:
    """Yield the files named and those in the folders named (recursively), each once, in a stable order; hidden
    files and folders (".name") are left out, symbolic links to folders are not followed."""
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for root, directories, names in os.walk(path):
                directories[:] = sorted(d for d in directories if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(root) / name
                    if not name.startswith(".") and candidate.is_file() and candidate.resolve() not in seen:
                        seen.add(candidate.resolve())
                        yield candidate
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            yield path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(*, owner, path: Path, category: str, tags: list[str], allow_duplicates: bool = False
                ) -> ImportResult:
    """Store one file for `owner` as the upload form would, titled after its name; skip it when the owner
    already has the same file (unless `allow_duplicates`); refuse it, saying why, when an upload would be."""
    try:
        size = path.stat().st_size
        if size > settings.MAX_UPLOAD_SIZE:
            return ImportResult(path, "refused", f"larger than the {settings.MAX_UPLOAD_SIZE / 1024**2:g} MB "
                                                 "upload limit")
        sha256 = _sha256(path)
        existing = intake.duplicate_of(owner, sha256)
        if existing is not None and not allow_duplicates:
            return ImportResult(path, "duplicate", f"already uploaded as “{existing.title}”", existing)
        with path.open("rb") as handle:
            upload = File(handle, name=path.name)
            upload.sha256 = sha256  # read once above; document_create stores it instead of reading again
            fields = QueryDict(mutable=True)
            fields.update({"title": "", "description": "", "category": category, "tags": ", ".join(tags)})
            form = UploadForm(fields, {"file": upload}, owner=owner)
            if not form.is_valid():
                return ImportResult(path, "refused", "; ".join(
                    message for messages in form.errors.values() for message in messages))
            data = form.cleaned_data
            created = intake.document_create_named(
                owner=owner, title="", description="", category=data["category"], tags=data["tags"],
                upload=data["file"], kind=form.kind)
    except OSError as error:
        return ImportResult(path, "refused", f"could not be read: {error.strerror or error}")
    except (services.QuotaExceeded, services.TitleTaken) as error:
        return ImportResult(path, "refused", str(error) if isinstance(error, services.QuotaExceeded)
                            else error.messages[0])
    return ImportResult(path, "imported", f"as “{created.document.title}”", created.document)
