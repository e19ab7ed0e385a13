"""Bulk work on the web pages: several files uploaded at once (one request per file with JavaScript, or one form
post of several files without), and actions on many selected documents of the list. See docs/bulk-work.md."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from strongbox.documents import bulk, intake, selectors, services
from strongbox.documents.categories import category_choices, category_names
from strongbox.documents.forms import CategoryField, ListFilterForm, UploadForm
from strongbox.documents.models import Document
from strongbox.documents.uploads import upload_limit_mb
from strongbox.documents.zipdownload import ZipTooLarge, zip_response

# Until the trash exists the bulk action deletes, as the single-document delete does (the lead renames it with
# the switch to document_trash).
ACTIONS = [("tag", "Add tag"), ("untag", "Remove tag"), ("category", "Change category"),
           ("trash", "Move to trash"), ("download", "Download as ZIP")]
# What the list page's bulk bar (partials/bulk_bar.html) draws its choices from.
def bar_context(user) -> dict:
    """What the list page's bulk bar (partials/bulk_bar.html) draws its choices from."""
    return {"actions": ACTIONS, "categories": category_choices(user)}


# ---------- several files ----------

@dataclass
class FileResult:
    """What became of one file of a batch: stored (perhaps a duplicate of an earlier one) or refused, and why."""

    filename: str
    http_status: int
    message: str
    document: Document | None = None
    duplicate: Document | None = None

    @property
    def stored(self) -> bool:
        return self.document is not None

    def as_json(self) -> dict:
        def link(document):
            return {"title": document.title, "url": reverse("documents:detail", args=[document.public_id])}

        return {"filename": self.filename, "status": "stored" if self.stored else "refused",
                "message": self.message, "document": link(self.document) if self.document else None,
                "duplicate_of": link(self.duplicate) if self.duplicate else None}


def _form_errors(form: UploadForm) -> str:
    return " ".join(f"{'' if name in ('file', '__all__') else str(form[name].label) + ': '}{message}"
                    for name, errors in form.errors.items() for message in errors)


def store_one(request, fields: QueryDict, upload) -> FileResult:
    """Validate and store one file of a batch with the batch's fields. The title typed for the batch, or the
    file's name when none was typed, is made unique ("Invoice (2)"), so several files never clash."""
    data = fields.copy()
    typed = " ".join(data.get("title", "").split())
    data["title"] = ""
    form = UploadForm(data, {"file": upload}, owner=request.user)
    if not form.is_valid():
        return FileResult(upload.name, 400, _form_errors(form))
    cleaned = form.cleaned_data
    try:
        created = intake.document_create_named(
            owner=request.user, title=typed, description=cleaned["description"], category=cleaned["category"],
            tags=cleaned["tags"], upload=cleaned["file"], kind=form.kind, numbered=True)
    except services.QuotaExceeded as error:
        return FileResult(upload.name, 413, str(error))
    except services.TitleTaken as error:  # every free title taken by concurrent uploads: try again later
        return FileResult(upload.name, 409, error.messages[0])
    message = f"Stored as “{created.document.title}”."
    return FileResult(upload.name, 201, message, created.document, created.duplicate_of)


def _too_large(name: str) -> FileResult:
    return FileResult(name, 413, f"The file is larger than the {upload_limit_mb()} MB limit.")


def is_batch(request) -> bool:
    """Return whether an upload form post carries several files (counting those dropped as too large)."""
    return len(request.FILES.getlist("file")) + len(getattr(request, "uploads_too_large", [])) > 1


def upload_batch(request) -> HttpResponse:
    """Answer a form post of several files (without JavaScript): store each one, then list what became of each."""
    results = [_too_large(name) for name in getattr(request, "uploads_too_large", [])]
    results += [store_one(request, request.POST, upload) for upload in request.FILES.getlist("file")]
    status = 200 if any(result.stored for result in results) else 400
    return render(request, "documents/upload_results.html", {"results": results}, status=status)


@require_POST
def document_upload_file(request):
    """One file of a batch uploaded by the page's script: what became of it, as JSON (201 stored, 400/409/413
    refused with a message; 401 without a session, rather than the sign-in page)."""
    if not request.user.is_authenticated:
        return JsonResponse({"status": "refused", "message": "You are signed out. Sign in again and retry."},
                            status=401)
    files = request.FILES.getlist("file")  # parses the body, which tells of files too large
    too_large = getattr(request, "uploads_too_large", [])
    if too_large:
        result = _too_large(too_large[0])
    elif len(files) != 1:
        result = FileResult("", 400, "Send exactly one file, in the field “file”.")
    else:
        result = store_one(request, request.POST, files[0])
    return JsonResponse(result.as_json(), status=result.http_status)


# ---------- actions on selected documents ----------

class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    all = forms.BooleanField(required=False)
    matching = forms.CharField(required=False, max_length=2000)
    tag = forms.CharField(required=False, max_length=200)
    category = CategoryField(blank="Choose a category", required=False)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].for_owner(owner)  # the built-in categories and the owner's own

    def clean(self):
        data = super().clean()
        if data.get("action") in ("tag", "untag") and not " ".join(data.get("tag", "").split()):
            self.add_error("tag", "Enter the tag to add or remove.")
        if data.get("action") == "category" and not data.get("category"):
            self.add_error("category", "Choose the category to put the documents in.")
        return data


def _matching_query(user, raw: str) -> selectors.ListQuery:
    """The list's search and filters as the page had them (its query string), read as the list reads them. A
    query string the list would refuse selects nothing (never everything: "all matching" would become all)."""
    form = ListFilterForm(QueryDict(raw), owner=user)
    if not form.is_valid():
        raise bulk.InvalidBulkInput("The search and filters of this selection are not valid any more.")
    return form.list_query()


def _selected_ids(request, form: BulkActionForm) -> list[int]:
    """The ids of the user's documents the form selects: every one matching the list's search and filters
    (re-run here, not only the page shown), or the ones ticked. Others' ids are ignored, as missing ones are."""
    if form.cleaned_data["all"]:
        query = _matching_query(request.user, form.cleaned_data["matching"])
        ids = selectors.document_ids_matching(request.user, query, limit=bulk.MAX_DOCUMENTS + 1)
        if len(ids) > bulk.MAX_DOCUMENTS:
            raise bulk.TooManyDocuments()
        return ids
    public_ids = list(dict.fromkeys(request.POST.getlist("ids")))
    if len(public_ids) > bulk.MAX_DOCUMENTS:
        raise bulk.TooManyDocuments(len(public_ids))
    return list(selectors.documents_for_user(request.user).filter(public_id__in=public_ids[:bulk.MAX_DOCUMENTS])
                .values_list("id", flat=True))


def _bulk_page(request, form, ids: list[int], status: int, error: str = "", confirming: bool = False):
    """The action form again, with the selection kept: to fix what was refused, or to confirm a deletion."""
    titles = list(Document.objects.filter(id__in=ids[:20]).values_list("title", flat=True))
    context = {"form": form, "count": len(ids), "titles": titles, "error": error, "confirming": confirming,
               "ids": request.POST.getlist("ids")[:bulk.MAX_DOCUMENTS], "actions": ACTIONS,
               "categories": category_choices(request.user), "back": _back_url(form)}
    return render(request, "documents/bulk.html", context, status=status)


def _back_url(form: BulkActionForm) -> str:
    # Re-encoded, so the list's own query string is all that can come back from the form.
    matching = QueryDict(form.cleaned_data.get("matching", "")).urlencode()
    return reverse("documents:list") + (f"?{matching}" if matching else "")


def _plural(count: int) -> str:
    return f"{count} document{'' if count == 1 else 's'}"


def _apply(request, action: str, ids: list[int], data: dict) -> str:
    """Run the action on the selected documents; return what to tell the user."""
    user = request.user
    count = bulk.documents_bulk_apply(owner=user, action=action, document_ids=ids, tag=data["tag"],
                                      category=data["category"], actor=user)
    if action == "tag":
        return f"Added the tag “{' '.join(data['tag'].split())}” to {_plural(count)}."
    if action == "untag":
        return f"Removed the tag “{' '.join(data['tag'].split())}” from {_plural(count)}."
    if action == "category":
        return f"Moved {_plural(count)} to {category_names(user)[data['category']]}."
    return f"Moved {_plural(count)} to the trash."


@login_required
@require_POST
def document_bulk(request):
    """Apply one action to the selected documents, then go back to the list as it was; download answers the
    ZIP itself. A refused action shows its form again with the selection and the reason."""
    form = BulkActionForm(request.POST, owner=request.user)
    if not form.is_valid():
        return _bulk_page(request, form, [], 400, "Some of the choices were not valid.")
    data = form.cleaned_data
    try:
        ids = _selected_ids(request, form)
    except (bulk.TooManyDocuments, bulk.InvalidBulkInput) as error:
        return _bulk_page(request, form, [], 400, str(error))
    if not ids:
        return _bulk_page(request, form, [], 400, "Select at least one document.")
    if data["action"] == "download":
        documents = list(Document.objects.filter(id__in=ids).order_by("created_at", "id"))
        try:
            return zip_response(documents)
        except ZipTooLarge as error:
            return _bulk_page(request, form, ids, 400, str(error))
    if data["action"] == "trash" and not data["confirm"]:
        return _bulk_page(request, form, ids, 200, confirming=True)
    try:
        done = _apply(request, data["action"], ids, data)
    except (bulk.TooManyDocuments, bulk.InvalidBulkInput) as error:
        return _bulk_page(request, form, ids, 400, str(error))
    messages.success(request, done)
    return redirect(_back_url(form))
