import functools

from django import forms
from django.conf import settings

from strongbox.documents import categories
from strongbox.documents.models import Category, Document
from strongbox.lib.sniff import ArchiveLimits, ContentRejected, check_upload
from strongbox.ops import metrics

MAX_TAGS = 20
MAX_TAG_LENGTH = 50


def _category_choices(owner, blank: str | None) -> list[tuple[str, str]]:
    first = [("", blank)] if blank is not None else []
    return first + (categories.category_choices(owner) if owner is not None else list(Category.choices))


class CategoryField(forms.ChoiceField):
    """A category: a built-in one, or one of the owner's own (documents/categories.py), looked up (cached) only
    when the value is not a built-in one or the choices are drawn."""

    def __init__(self, *, blank: str | None = None, **kwargs):
        self.blank = blank
        super().__init__(**kwargs)
        self.for_owner(None)

    def for_owner(self, owner) -> None:
        """Accept `owner`'s own categories too (None: the built-in ones only)."""
        self.owner = owner
        self.choices = functools.partial(_category_choices, owner, self.blank)

    def valid_value(self, value) -> bool:
        return str(value) in Category.values or super().valid_value(value)


def parse_tags(raw: str) -> list[str]:
    """Split a comma-separated tag string into distinct tags (case-insensitively), keeping the first spelling."""
    tags: dict[str, str] = {}
    for part in (raw or "").split(","):
        tag = " ".join(part.split())
        if tag:
            tags.setdefault(tag.lower(), tag)
    return list(tags.values())


class DocumentFieldsForm(forms.Form):
    """The fields a user edits on a document, shared by upload and edit."""

    title = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    category = CategoryField(initial=Category.OTHER)
    tags = forms.CharField(max_length=1100, required=False, help_text="Separate tags with commas.",
                           widget=forms.TextInput(attrs={"placeholder": "taxes, 2026, bank"}))

    def __init__(self, *args, owner, document: Document | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.document = document
        self.fields["category"].for_owner(owner)

    def clean_title(self) -> str:
        title = self.cleaned_data["title"]
        if not title:  # only the upload form allows it: the title then comes from the file name (intake.py)
            return title
        same = Document.objects.filter(owner=self.owner, title__iexact=title)
        if self.document is not None:
            same = same.exclude(pk=self.document.pk)
        if same.exists():
            raise forms.ValidationError("You already have a document with this title.", code="title_taken")
        return title

    def clean_tags(self) -> list[str]:
        tags = parse_tags(self.cleaned_data["tags"])
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"Use at most {MAX_TAGS} tags.", code="too_many_tags")
        long = [tag for tag in tags if len(tag) > MAX_TAG_LENGTH]
        if long:
            raise forms.ValidationError(f"Tags can be at most {MAX_TAG_LENGTH} characters long.",
                                        code="tag_too_long")
        return tags


class PickManyInput(forms.ClearableFileInput):
    """A file input the browser lets pick several files. The form validates one file (the last); a post of
    several is split into one form per file (bulk_views.py)."""

    allow_multiple_selected = True

    def value_from_datadict(self, data, files, name):
        return files.get(name)


class UploadForm(DocumentFieldsForm):
    file = forms.FileField(allow_empty_file=False, widget=PickManyInput(attrs={"multiple": True}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left empty, the title is taken from the file name and made unique (intake.document_create_named).
        self.fields["title"].required = False
        self.fields["title"].help_text = "Leave empty to use the file name."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limits = ArchiveLimits(max_entries=settings.ARCHIVE_MAX_ENTRIES,
                               max_total_uncompressed=settings.ARCHIVE_MAX_UNCOMPRESSED)
        try:
            self.kind = check_upload(upload.name, upload, limits=limits)
        except ContentRejected as error:
            metrics.UPLOADS.labels("refused").inc()
            raise forms.ValidationError(str(error), code=error.code) from None
        return upload


STALE_MESSAGE = ("This document was changed since you opened it, so your changes were not saved. They are "
                 "still below: check them against the current document and save again to keep them.")
OUT_OF_DATE_MESSAGE = "This form is out of date. Reload the page and make your change again."


class EditForm(DocumentFieldsForm):
    """The edit page's form. It carries the version of the document it was read at, so a save cannot silently
    overwrite a change made meanwhile (in another tab, through the API). Like the API's If-Match, the version is
    optional: a script posting without one saves whatever the document's version."""

    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.document is not None:
            self.initial.setdefault("version", self.document.version)

    def clean(self):
        data = super().clean()
        # A hidden field's own message would never be shown: say it where the user sees it.
        if self.has_error("version"):
            del self.errors["version"]
            self.add_error(None, OUT_OF_DATE_MESSAGE)
        return data

    def stale(self, document: Document) -> "EditForm":
        """Return this form again, with the user's input and `document`'s current version (so saving it again
        is a deliberate overwrite), saying that the document changed since it was opened."""
        data = self.data.copy()
        data["version"] = document.version
        again = type(self)(data, owner=self.owner, document=document)
        again.full_clean()
        again.add_error(None, STALE_MESSAGE)
        return again


class TitleForm(EditForm):
    """EditForm's title alone, with its checks: required, at most 100 characters, not used by another of the
    owner's documents; and the version it was read at."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("description", "category", "tags"):
            del self.fields[name]
        self.fields["title"].widget.attrs["autofocus"] = True


SORTS = {
    "-created": "Newest first",
    "created": "Oldest first",
    "title": "Title A–Z",
    "-title": "Title Z–A",
    "-size": "Largest first",
    "size": "Smallest first",
}
DENSITIES = ("comfortable", "compact")


# The list's `shared` parameter: ListQuery.shared of each value (docs/sharing.md).
SHARED_SCOPES = {"": None, "1": True, "0": False}


class ListFilterForm(forms.Form):
    """The list page's query string: search, filters, sort. Every field is optional."""

    q = forms.CharField(max_length=200, required=False, label="Search")
    category = CategoryField(blank="All categories", required=False)
    tag = forms.CharField(max_length=MAX_TAG_LENGTH, required=False)
    date_from = forms.DateField(required=False, label="Uploaded from",
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="Uploaded until",
                              widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(choices=[("", "Best match / default"), *SORTS.items()], required=False)
    density = forms.ChoiceField(choices=[("", "")] + [(d, d) for d in DENSITIES], required=False)
    shared = forms.ChoiceField(choices=[("", "All"), ("1", "Shared with me"), ("0", "Mine")], required=False)

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].for_owner(owner)  # without one, only the built-in categories are accepted

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def list_query(self, sort: str | None = None):
        """The validated search, filters and sort as the selectors take them (`sort`: the one to use instead of
        the query string's, e.g. a remembered one). Call after is_valid() returned True."""
        from strongbox.documents.selectors import ListQuery

        data = self.cleaned_data
        return ListQuery(q=data.get("q", ""), category=data.get("category", ""), tag=data.get("tag", ""),
                         date_from=data.get("date_from"), date_to=data.get("date_to"),
                         sort=data.get("sort", "") if sort is None else sort,
                         shared=SHARED_SCOPES.get(data.get("shared", "")))


class VersionForm(forms.Form):
    """A new version of a document: only the file, checked exactly as an upload's (UploadForm.clean_file)."""

    file = forms.FileField(allow_empty_file=False, label="New version")
    clean_file = UploadForm.clean_file
