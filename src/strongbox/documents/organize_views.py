"""Pages for saved views, notes and the user's own categories: thin callers of saved_views.py, notes.py and
categories.py. Every form works as a plain POST; the notes form also answers htmx with its fragment."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from strongbox.documents import categories, notes, saved_views, selectors
from strongbox.documents.detail import detail_context
from strongbox.documents.htmx import is_htmx, login_required_fragment, vary_on_htmx
from strongbox.documents.models import Document, SavedView, UserCategory

# ---- saved views -------------------------------------------------------------------------------------------------


def _saved_view(request, view_id: int) -> SavedView:
    try:
        return saved_views.saved_view_for_user(request.user, view_id)
    except SavedView.DoesNotExist:
        raise Http404("No such view.") from None


def _views_page(request, *, errors=None, name: str = "", query: str = "", status: int = 200):
    return render(request, "documents/saved_views.html", {
        "views": saved_views.saved_views_for_user(request.user), "errors": errors or {}, "name": name,
        "query": query, "max_length": saved_views.MAX_NAME_LENGTH}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def saved_view_list(request):
    """GET: the user's views, to open, rename or delete. POST: save the list's query (`query`) as `name`."""
    if request.method == "GET":
        return _views_page(request)
    name, query = request.POST.get("name", ""), request.POST.get("query", "")
    try:
        view = saved_views.saved_view_create(owner=request.user, name=name, filters=query)
    except saved_views.ViewInvalid as error:
        return _views_page(request, errors=error.field_errors or {"name": error.messages}, name=name,
                           query=query, status=400)
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(saved_views.ViewLink(view.pk, view.name, saved_views.query_string(view.filters)).url)


@login_required
@require_http_methods(["GET", "POST"])
def saved_view_rename(request, view_id: int):
    view = _saved_view(request, view_id)
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            saved_views.saved_view_rename(view=view, name=name)
        except saved_views.ViewInvalid as error:
            return render(request, "documents/saved_view_rename.html",
                          {"view": view, "name": name, "errors": error.messages}, status=400)
        messages.success(request, f"Renamed the view to “{view.name}”.")
        return redirect("documents:saved_views")
    return render(request, "documents/saved_view_rename.html", {"view": view, "name": view.name, "errors": []})


@login_required
@require_http_methods(["GET", "POST"])
def saved_view_delete(request, view_id: int):
    view = _saved_view(request, view_id)
    if request.method == "POST":
        saved_views.saved_view_delete(view=view)
        messages.success(request, f"Deleted the view “{view.name}”. Its documents are untouched.")
        return redirect("documents:saved_views")
    return render(request, "documents/saved_view_delete.html", {"view": view})


# ---- notes -------------------------------------------------------------------------------------------------------


def notes_context(user, document) -> dict:
    """What the detail page's notes section needs for `document` (a model or a selectors.DocumentRow)."""
    owner_id = getattr(document, "owner_id", None)
    if owner_id is None:
        owner_id = Document.objects.filter(pk=document.pk).values_list("owner_id", flat=True).first()
    access = notes.note_access(user, Document(pk=document.pk, owner_id=owner_id))
    return {"notes": notes.notes_for_document(document) if access.read else [], "note_access": access,
            "note_errors": [], "note_body": "", "note_max": notes.MAX_BODY_LENGTH}


@login_required_fragment
@require_POST
def note_add(request, public_id: str):
    document = notes.notes_document(request.user, public_id, request, add=True)
    body = request.POST.get("body", "")
    try:
        notes.note_create(document=document, author=request.user, body=body)
    except notes.NoteInvalid as error:
        context = {**notes_context(request.user, document), "note_errors": error.messages, "note_body": body,
                   "document": document}
        if is_htmx(request):
            return vary_on_htmx(render(request, "partials/notes.html", context, status=400))
        row = selectors.document_row(request.user, public_id, request)
        page = detail_context(request, row, note_errors=error.messages, note_body=body)
        return vary_on_htmx(render(request, "documents/detail.html", page, status=400))
    if is_htmx(request):
        return vary_on_htmx(render(request, "partials/notes.html",
                                   {**notes_context(request.user, document), "document": document}))
    messages.success(request, "Note added.")
    return vary_on_htmx(redirect(reverse("documents:detail", args=[document.public_id]) + "#notes"))


@login_required
@require_http_methods(["GET", "POST"])
def note_delete(request, public_id: str, note_id: int):
    document = notes.notes_document(request.user, public_id, request)
    note = notes.note_for_document(document, note_id)
    if not notes.note_deletable(request.user, note):
        raise PermissionDenied("Only its author can delete a note.")
    if request.method == "POST":
        notes.note_delete(note=note, user=request.user, document=document)
        messages.success(request, "Note deleted.")
        return redirect(reverse("documents:detail", args=[document.public_id]) + "#notes")
    return render(request, "documents/note_delete.html", {"document": document, "note": note})


# ---- categories --------------------------------------------------------------------------------------------------


def _category(request, slug: str) -> UserCategory:
    try:
        return categories.category_for_user(request.user, slug)
    except UserCategory.DoesNotExist:
        raise Http404("No such category.") from None


def _categories_page(request, *, errors=None, name: str = "", status: int = 200):
    counts = dict(Document.objects.filter(owner_id=request.user.pk).values_list("category")
                  .annotate(n=Count("id")).values_list("category", "n"))
    return render(request, "documents/categories.html", {
        "built_in": categories.BUILT_IN, "own": categories.categories_for_user(request.user), "counts": counts,
        "errors": errors or [], "name": name, "max_length": categories.MAX_NAME_LENGTH}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def category_list(request):
    """GET: the built-in categories and the user's own. POST: add one named `name`."""
    if request.method == "GET":
        return _categories_page(request)
    name = request.POST.get("name", "")
    try:
        category = categories.category_create(owner=request.user, name=name)
    except categories.CategoryInvalid as error:
        return _categories_page(request, errors=error.messages, name=name, status=400)
    messages.success(request, f"Added the category “{category.name}”.")
    return redirect("documents:categories")


@login_required
@require_http_methods(["GET", "POST"])
def category_rename(request, slug: str):
    category = _category(request, slug)
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            categories.category_rename(category=category, name=name)
        except categories.CategoryInvalid as error:
            return render(request, "documents/category_rename.html",
                          {"category": category, "name": name, "errors": error.messages}, status=400)
        messages.success(request, f"Renamed the category to “{category.name}”.")
        return redirect("documents:categories")
    return render(request, "documents/category_rename.html",
                  {"category": category, "name": category.name, "errors": []})


@login_required
@require_http_methods(["GET", "POST"])
def category_delete(request, slug: str):
    category = _category(request, slug)
    if request.method == "POST":
        moved = categories.category_delete(category=category)
        messages.success(request, f"Deleted the category “{category.name}”; "
                                  f"{moved} document{'' if moved == 1 else 's'} moved to Other.")
        return redirect("documents:categories")
    return render(request, "documents/category_delete.html",
                  {"category": category, "count": categories.documents_in_category(request.user, slug)})


# ---- the list page's sidebar -------------------------------------------------------------------------------------


def sidebar_context(user, query, valid: bool) -> dict:
    """What the list page's sidebar and its "Save as view" fields need (cached with the page's content, so only
    computed when the page is: views.document_list)."""
    current = saved_views.query_string({name: getattr(query, name) and str(getattr(query, name))
                                        for name in saved_views.FILTER_FIELDS})
    views = saved_views.saved_views_for_user(user)
    return {"saved_views": views, "view_query": current, "can_save_view": valid,
            "active_view": next((view.id for view in views if view.query == current), None),
            "own_categories": categories.categories_for_user(user),
            "view_name_max": saved_views.MAX_NAME_LENGTH}
