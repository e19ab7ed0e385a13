"""Saved views, notes and categories: thin callers of documents/saved_views.py, notes.py and categories.py, with
the API's one error shape."""

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import Field

from strongbox.api.errors import ApiError
from strongbox.api.schemas import Problem, Strict
from strongbox.documents import categories, notes, saved_views
from strongbox.documents.models import Note, SavedView, UserCategory
from strongbox.documents.selectors import ORDERINGS

ISO_DATE_OR_EMPTY = r"^(\d{4}-\d{2}-\d{2})?$"
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}
# A path segment is text: not StrictInt, which would refuse every one. Bounded by the database's 64-bit ids.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]

# ---- saved views -------------------------------------------------------------------------------------------------

views_router = Router(tags=["saved views"])


class ViewFilters(Strict):
    """The list page's search, filters and sort, as in its query string (/documents/?q=…&category=…)."""

    q: str = Field("", max_length=200)
    category: str = Field("", max_length=20, description="A built-in category or one of your own "
                                                         "(GET /api/v1/categories); empty: all.")
    tag: str = Field("", max_length=50)
    # Text, checked as the list checks it: pydantic's dates would also take 0 as 1970-01-01.
    date_from: str = Field("", pattern=ISO_DATE_OR_EMPTY)
    date_to: str = Field("", pattern=ISO_DATE_OR_EMPTY)
    sort: str = Field("", description=f"Empty (best match / newest first) or one of: {', '.join(ORDERINGS)}.")


class ViewCreate(Strict):
    name: str = Field(min_length=1, max_length=60)
    filters: ViewFilters = Field(default_factory=ViewFilters)


class ViewOut(Schema):
    id: int
    name: str
    filters: dict[str, str]
    url: str
    created_at: datetime


def _view_out(view: SavedView) -> dict:
    link = saved_views.ViewLink(view.pk, view.name, saved_views.query_string(view.filters))
    return {"id": view.pk, "name": view.name, "filters": view.filters, "url": link.url,
            "created_at": view.created_at}


def _view_error(error: saved_views.ViewInvalid) -> ApiError:
    status = 409 if error.code == "name_taken" else 400
    fields = [{"field": name if name == "name" else f"filters.{name}", "message": message}
              for name, messages in error.field_errors.items() for message in messages]
    return ApiError(status, error.code, error.messages[0], errors=fields or None)


@views_router.get("/saved-views", response={200: list[ViewOut], **ERRORS}, url_name="saved_views")
def list_views(request: HttpRequest):
    """Your saved views, by name; open one with its `url`, or list its documents with GET /api/v1/documents."""
    rows = SavedView.objects.filter(owner_id=request.user.pk)
    return sorted((_view_out(view) for view in rows), key=lambda view: view["name"].lower())


@views_router.post("/saved-views", response={201: ViewOut, 409: Problem, **ERRORS}, url_name="saved_view_create")
def create_view(request: HttpRequest, response: HttpResponse, body: ViewCreate):
    """Save a search, filters and sort under a name unique among your views (any case; 409 if taken)."""
    filters = {name: value for name, value in body.filters.dict().items() if value}
    try:
        view = saved_views.saved_view_create(owner=request.user, name=body.name, filters=filters)
    except saved_views.ViewInvalid as error:
        raise _view_error(error) from None
    response["Location"] = reverse("api:saved_view", args=[view.pk])
    return Status(201, _view_out(view))


def _view(request: HttpRequest, view_id: int) -> SavedView:
    try:
        return saved_views.saved_view_for_user(request.user, view_id)
    except SavedView.DoesNotExist:
        raise ApiError(404, "not_found", "There is no such object.") from None


@views_router.get("/saved-views/{view_id}", response={200: ViewOut, **ERRORS}, url_name="saved_view")
def get_view(request: HttpRequest, view_id: Id):
    return _view_out(_view(request, view_id))


class ViewRename(Strict):
    name: str = Field(min_length=1, max_length=60)


@views_router.patch("/saved-views/{view_id}", response={200: ViewOut, 409: Problem, **ERRORS},
                    url_name="saved_view_rename")
def rename_view(request: HttpRequest, view_id: Id, body: ViewRename):
    """Rename a saved view (409 if another of yours has the name, in any case); its filters stay as they are."""
    view = _view(request, view_id)
    try:
        saved_views.saved_view_rename(view=view, name=body.name)
    except saved_views.ViewInvalid as error:
        raise _view_error(error) from None
    return _view_out(view)


@views_router.delete("/saved-views/{view_id}", response={204: None, **ERRORS}, url_name="saved_view_delete")
def delete_view(request: HttpRequest, view_id: Id):
    """Delete a saved view (its documents are untouched)."""
    saved_views.saved_view_delete(view=_view(request, view_id))
    return Status(204, None)


# ---- notes -------------------------------------------------------------------------------------------------------

notes_router = Router(tags=["notes"])


class NoteCreate(Strict):
    body: str = Field(min_length=1, max_length=notes.MAX_BODY_LENGTH)


class NoteOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime
    deletable: bool


def _note_out(note: Note, user) -> dict:
    return {"id": note.pk, "author": note.author.get_username(), "body": note.body, "created_at": note.created_at,
            "deletable": notes.note_deletable(user, note)}


@notes_router.get("/documents/{document_id}/notes", response={200: list[NoteOut], **ERRORS}, url_name="notes")
def list_notes(request: HttpRequest, document_id: str):
    """A document's notes, newest first."""
    document = notes.notes_document(request.user, document_id, request)
    return [_note_out(note, request.user) for note in notes.notes_for_document(document)]


@notes_router.post("/documents/{document_id}/notes", response={201: NoteOut, 409: Problem, **ERRORS},
                   url_name="note_create")
def create_note(request: HttpRequest, document_id: str, body: NoteCreate):
    """Add a note to a document; its words are found by searches (GET /api/v1/documents?q=…) at once."""
    document = notes.notes_document(request.user, document_id, request, add=True)
    try:
        note = notes.note_create(document=document, author=request.user, body=body.body)
    except notes.NoteInvalid as error:
        status = 409 if error.code == "too_many" else 400
        raise ApiError(status, error.code if status == 409 else "invalid_request", error.messages[0],
                       errors=[{"field": "body", "message": error.messages[0]}]) from None
    return Status(201, _note_out(note, request.user))


@notes_router.delete("/documents/{document_id}/notes/{note_id}", response={204: None, **ERRORS},
                     url_name="note_delete")
def delete_note(request: HttpRequest, document_id: str, note_id: Id):
    """Delete a note you wrote (403 for someone else's)."""
    document = notes.notes_document(request.user, document_id, request)
    note = notes.note_for_document(document, note_id)
    try:
        notes.note_delete(note=note, user=request.user, document=document)
    except notes.NoteForbidden:
        raise ApiError(403, "forbidden", "Only its author can delete a note.") from None
    return Status(204, None)


# ---- categories --------------------------------------------------------------------------------------------------

categories_router = Router(tags=["categories"])


class CategoryOut(Schema):
    slug: str = Field(description="What documents store in `category`.")
    name: str
    built_in: bool


class CategoryCreate(Strict):
    name: str = Field(min_length=1, max_length=categories.MAX_NAME_LENGTH)


def _category_error(error: categories.CategoryInvalid) -> ApiError:
    status = 409 if error.code in ("name_taken", "built_in", "too_many") else 400
    return ApiError(status, error.code if status == 409 else "invalid_request", error.messages[0],
                    errors=[{"field": "name", "message": error.messages[0]}])


def _category(request: HttpRequest, slug: str) -> UserCategory:
    try:
        return categories.category_for_user(request.user, slug)
    except UserCategory.DoesNotExist:
        raise ApiError(404, "not_found", "There is no such object.") from None


@categories_router.get("/categories", response={200: list[CategoryOut], **ERRORS}, url_name="categories")
def list_categories(request: HttpRequest):
    """Every category your documents may have: the built-in ones, then your own (by name)."""
    return [{"slug": c.slug, "name": c.name, "built_in": c.built_in}
            for c in categories.all_categories(request.user)]


@categories_router.post("/categories", response={201: CategoryOut, 409: Problem, **ERRORS},
                        url_name="category_create")
def create_category(request: HttpRequest, body: CategoryCreate):
    """Add a category of your own; its `slug` (made from the name, never changing) is what documents store. 409
    if you have one of that name already, in any case, or it is a built-in one's name."""
    try:
        category = categories.category_create(owner=request.user, name=body.name)
    except categories.CategoryInvalid as error:
        raise _category_error(error) from None
    return Status(201, {"slug": category.slug, "name": category.name, "built_in": False})


@categories_router.patch("/categories/{slug}", response={200: CategoryOut, 409: Problem, **ERRORS},
                         url_name="category_rename")
def rename_category(request: HttpRequest, slug: str, body: CategoryCreate):
    """Rename one of your categories; its slug, and so its documents, stay as they are."""
    category = _category(request, slug)
    try:
        categories.category_rename(category=category, name=body.name)
    except categories.CategoryInvalid as error:
        raise _category_error(error) from None
    return {"slug": category.slug, "name": category.name, "built_in": False}


@categories_router.delete("/categories/{slug}", response={204: None, **ERRORS}, url_name="category_delete")
def delete_category(request: HttpRequest, slug: str):
    """Delete one of your categories; its documents move to "other" (their versions change)."""
    categories.category_delete(category=_category(request, slug))
    return Status(204, None)
