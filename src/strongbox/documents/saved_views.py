"""Saved views: a named search, filters and sort of the list page, shown in its sidebar.

A view stores the list page's validated query (ListFilterForm's fields, empty ones left out) as JSON, and opens
as the list page's URL with that query string, so it shows whatever matches when it is opened.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.http import QueryDict
from django.urls import reverse

from strongbox.documents import cache
from strongbox.documents.forms import ListFilterForm
from strongbox.documents.models import SavedView

MAX_NAME_LENGTH = 60
MAX_VIEWS = 100
# ListFilterForm's fields a view keeps, in the order of its URL's query string (density is a display preference).
FILTER_FIELDS = ("q", "category", "tag", "date_from", "date_to", "sort")


class ViewInvalid(ValidationError):
    """The name or the filters are not valid; the message says why (code: the reason, `errors`: per field)."""

    def __init__(self, message: str, *, code: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message, code=code)
        self.field_errors = errors or {}


@dataclass(frozen=True)
class ViewLink:
    """A saved view as the sidebar shows it."""

    id: int
    name: str
    query: str

    @property
    def url(self) -> str:
        return f"{reverse('documents:list')}?{self.query}" if self.query else reverse("documents:list")


def query_string(filters: dict) -> str:
    """Return the list page's query string for a view's filters."""
    return urlencode([(name, filters[name]) for name in FILTER_FIELDS if filters.get(name)])


def clean_filters(owner, data) -> dict[str, str]:
    """Validate filters as the list page does (a QueryDict, a query string or a dict of strings) and return the
    non-empty ones as strings; ViewInvalid listing each field's problem otherwise."""
    if isinstance(data, str):
        data = QueryDict(data)
    unknown = sorted(set(data) - set(FILTER_FIELDS))
    if unknown:
        raise ViewInvalid(f"Not filters a view can keep: {', '.join(unknown)}.", code="unknown_filter",
                          errors={name: ["is not a filter of the list"] for name in unknown})
    form = ListFilterForm(data, owner=owner)
    if not form.is_valid():
        raise ViewInvalid("Some of the filters are not valid.", code="invalid_filters",
                          errors={name: list(messages) for name, messages in form.errors.items()})
    cleaned = {}
    for name in FILTER_FIELDS:
        value = form.cleaned_data.get(name)
        if value:
            cleaned[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return cleaned


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ViewInvalid("Give the view a name.", code="required", errors={"name": ["Give the view a name."]})
    if len(name) > MAX_NAME_LENGTH or "\x00" in name:
        message = f"Use at most {MAX_NAME_LENGTH} characters, without null characters."
        raise ViewInvalid(message, code="invalid_name", errors={"name": [message]})
    return name


def _taken(name: str) -> ViewInvalid:
    message = f"You already have a view named “{name}”. Choose another name."
    return ViewInvalid(message, code="name_taken", errors={"name": [message]})


def _name_used(owner, name: str, exclude: int | None = None) -> bool:
    same = SavedView.objects.filter(owner_id=owner.pk, name__iexact=name)
    return (same.exclude(pk=exclude) if exclude else same).exists()


def saved_view_create(*, owner, name: str, filters) -> SavedView:
    """Save the list's filters (validated as the list validates them) under a name unique among the owner's views
    whatever its case; ViewInvalid otherwise."""
    name = _clean_name(name)
    cleaned = clean_filters(owner, filters)
    if _name_used(owner, name):
        raise _taken(name)
    if SavedView.objects.filter(owner_id=owner.pk).count() >= MAX_VIEWS:
        raise ViewInvalid(f"You can keep at most {MAX_VIEWS} views.", code="too_many")
    try:
        with transaction.atomic():
            view = SavedView.objects.create(owner=owner, name=name, filters=cleaned)
            cache.bump(owner.pk)  # the list page's sidebar is cached with the documents
    except IntegrityError:  # a concurrent request took the name since we looked
        raise _taken(name) from None
    return view


def saved_view_for_user(user, view_id: int) -> SavedView:
    """Return one of the user's views; SavedView.DoesNotExist alike for a missing or someone else's one."""
    return SavedView.objects.get(owner_id=user.pk, pk=view_id)


def saved_view_rename(*, view: SavedView, name: str) -> SavedView:
    name = _clean_name(name)
    if _name_used(view.owner, name, exclude=view.pk):
        raise _taken(name)
    try:
        with transaction.atomic():
            SavedView.objects.filter(pk=view.pk).update(name=name)
            cache.bump(view.owner_id)
    except IntegrityError:
        raise _taken(name) from None
    view.name = name
    return view


def saved_view_delete(*, view: SavedView) -> None:
    with transaction.atomic():
        view.delete()
        cache.bump(view.owner_id)


def saved_views_for_user(user) -> list[ViewLink]:
    """Return the user's views by name (cached until their documents or views change)."""

    def compute() -> list[ViewLink]:
        rows = SavedView.objects.filter(owner_id=user.pk).order_by(Lower("name")).values_list("id", "name", "filters")
        return [ViewLink(pk, name, query_string(filters)) for pk, name, filters in rows]

    return cache.cached(user.pk, "saved-views", compute)
