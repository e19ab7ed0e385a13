"""The trash page and its actions, and a document's versions: thin callers of the trash and version services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from strongbox.documents import selectors, services
from strongbox.documents.downloads import document_file_response
from strongbox.documents.forms import VersionForm
from strongbox.documents.models import DocumentVersion
from strongbox.documents.uploads import upload_limit_mb
from strongbox.sharing.selectors import require_owner


@login_required
@require_safe
def trash_list(request):
    documents = selectors.trash_for_user(request.user)
    rows = [(document, services.trash_purge_date(document.trashed_at)) for document in documents]
    return render(request, "documents/trash.html", {"rows": rows, "trash_days": services.settings.TRASH_DAYS})


@login_required
@require_POST
def trash_restore(request, public_id: str):
    document = selectors.trashed_document_for_user(request.user, public_id, request)
    title = document.title
    try:
        services.document_restore(document=document, actor=request.user)
    except services.DocumentGone:
        raise Http404("No such document.") from None
    except (services.QuotaExceeded, services.TitleTaken) as error:
        messages.error(request, f"“{title}” could not be restored: {_message(error)}")
        return redirect("documents:trash")
    if document.title != title:
        messages.success(request, f"Restored “{title}” as “{document.title}”: another document has its title.")
    else:
        messages.success(request, f"Restored “{document.title}”.")
    return redirect("documents:detail", public_id=document.public_id)


def _message(error: Exception) -> str:
    return error.messages[0] if hasattr(error, "messages") else str(error)


@login_required
@require_http_methods(["GET", "POST"])
def trash_purge(request, public_id: str):
    """Delete one document of the trash for good, after a confirmation page (no JavaScript needed)."""
    document = selectors.trashed_document_for_user(request.user, public_id, request)
    if request.method == "GET":
        return render(request, "documents/trash_purge.html", {"document": document})
    try:
        services.document_purge(document=document, actor=request.user)
    except services.DocumentGone:
        raise Http404("No such document.") from None
    messages.success(request, f"Deleted “{document.title}” for good.")
    return redirect("documents:trash")


@login_required
@require_http_methods(["GET", "POST"])
def trash_empty(request):
    if request.method == "GET":
        return render(request, "documents/trash_empty.html", {"count": len(selectors.trash_for_user(request.user))})
    purged = services.trash_empty(owner=request.user, actor=request.user)
    messages.success(request, f"Emptied the trash: {purged} document{'' if purged == 1 else 's'} deleted for good.")
    return redirect("documents:trash")


def _version_page(request, document, form: VersionForm, status: int):
    return render(request, "documents/version_upload.html", {"document": document, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def version_upload(request, public_id: str):
    """Upload a new version: the same file checks, size limit and quota as an upload; a refused one comes back
    as this form with its message (400, or 413 for size and quota)."""
    document = selectors.document_for_user(request.user, public_id, request)
    require_owner(request.user, document)  # a user it is shared with reads the versions, never replaces the file
    if request.method == "GET":
        return _version_page(request, document, VersionForm(), 200)
    form = VersionForm(request.POST, request.FILES)
    if getattr(request, "upload_too_large", False):
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", f"The file is larger than the {upload_limit_mb()} MB limit.")
        return _version_page(request, document, form, 413)
    if not form.is_valid():
        return _version_page(request, document, form, 400)
    try:
        version = services.document_version_create(document=document, upload=form.cleaned_data["file"],
                                                   kind=form.kind, actor=request.user)
    except services.DocumentGone:
        raise Http404("No such document.") from None
    except services.QuotaExceeded as error:
        form.add_error("file", str(error))
        return _version_page(request, document, form, 413)
    messages.success(request, f"Uploaded version {version.number} of “{document.title}”. Its text is being indexed.")
    return redirect("documents:detail", public_id=document.public_id)


@login_required
@require_safe
def version_download(request, public_id: str, number: int):
    _, version = selectors.version_for_user(request.user, public_id, number, request)
    # A version has the fields the file response reads (file, names, type, size, SHA-256) under the same names.
    return document_file_response(request, version)


@login_required
@require_POST
def version_restore(request, public_id: str, number: int):
    document, _ = selectors.version_for_user(request.user, public_id, number, request)
    require_owner(request.user, document)
    try:
        version = services.document_version_restore(document=document, number=number, actor=request.user)
    except (services.DocumentGone, DocumentVersion.DoesNotExist):
        raise Http404("No such version.") from None
    messages.success(request, f"Version {number} is current again, as version {version.number}.")
    return redirect("documents:detail", public_id=document.public_id)
