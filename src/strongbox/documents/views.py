from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from strongbox.documents import bulk_views, cache, intake, organize_views, previews, selectors, services
from strongbox.documents.detail import detail_context
from strongbox.documents.downloads import document_file_response
from strongbox.documents.forms import DENSITIES, SORTS, EditForm, ListFilterForm, TitleForm, UploadForm
from strongbox.documents.htmx import hx_redirect, is_htmx, login_required_fragment, vary_on_htmx
from strongbox.documents.uploads import upload_limit_mb
from strongbox.lib import cookies
from strongbox.sharing import selectors as sharing

PREFERENCE_COOKIE_AGE = 365 * 24 * 3600
SUGGEST_MIN_LENGTH = 2


def _remembered(request, name: str, allowed) -> str:
    value = cookies.get(request, f"sb_{name}")
    return value if value in allowed else ""


@login_required_fragment
@require_safe
def document_list(request):
    form = ListFilterForm(request.GET, owner=request.user)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    # A sort or density picked in the query string is remembered in a plain cookie for the next visit. A search
    # without an explicit sort shows the best matches first.
    sort = data.get("sort") or ("" if data.get("q") else _remembered(request, "sort", SORTS))
    density = data.get("density") or _remembered(request, "density", DENSITIES) or DENSITIES[0]
    query = form.list_query(sort) if valid else selectors.ListQuery(sort=sort)
    params = request.GET.copy()
    params.pop("page", None)
    context = {"density": density, "params": params.urlencode(), "documents_url": request.path, "query": query,
               "filtered": selectors.any_filter(query)}
    status = 200 if valid else 400
    # The page's content (or, for infinite scroll, the next cards and pager) is rendered once per version of the
    # user's documents (cache.py) and query string: a cached page costs its header alone.
    template = "documents/list_more.html" if is_htmx(request) else "partials/document_list_content.html"
    page = request.GET.get("page")

    def content() -> str:
        page_context = {**context, "result": selectors.document_page(request.user, query, page)}
        if not is_htmx(request):
            page_context.update(form=form, sorts=SORTS, totals=selectors.user_totals(request.user),
                                tags=selectors.tags_for_user(request.user),
                                **organize_views.sidebar_context(request.user, query, valid))
        return render_to_string(template, page_context)

    html = cache.cached(request.user.pk, "list-html", content, template, query, page, context["params"], density,
                        request.path)
    if is_htmx(request):
        # Infinite scroll: the next page's cards and the pager that loads the page after it.
        response = HttpResponse(html, status=status)
    else:
        response = render(request, "documents/list.html", {"content": html, **bulk_views.bar_context(request.user)},
                          status=status)
    vary_on_htmx(response)
    for name in ("sort", "density"):
        if data.get(name):
            cookies.set_preference(response, f"sb_{name}", data[name], max_age=PREFERENCE_COOKIE_AGE)
    return response


def _upload_form(request, form: UploadForm, status: int):
    """Answer a refused upload: the form with its messages and the user's input, in place for htmx."""
    if is_htmx(request):
        return vary_on_htmx(render(request, "partials/upload_form.html", {"form": form}, status=status))
    return vary_on_htmx(render(request, "documents/upload.html", {"form": form}, status=status))


@login_required_fragment
@require_http_methods(["GET", "POST"])
def document_upload(request):
    if request.method == "GET":
        return render(request, "documents/upload.html", {"form": UploadForm(owner=request.user)})
    if bulk_views.is_batch(request):  # several files in one post (without JavaScript): a result for each
        return bulk_views.upload_batch(request)
    form = UploadForm(request.POST, request.FILES, owner=request.user)
    if getattr(request, "upload_too_large", False):
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", f"The file is larger than the {upload_limit_mb()} MB limit.")
        return _upload_form(request, form, 413)
    if form.is_valid():
        data = form.cleaned_data
        try:
            # An empty title: the file's name, made unique (intake.py).
            created = intake.document_create_named(
                owner=request.user, title=data["title"], description=data["description"],
                category=data["category"], tags=data["tags"], upload=data["file"], kind=form.kind)
        except services.TitleTaken as error:
            form.add_error("title", error)
        except services.QuotaExceeded as error:
            form.add_error("file", str(error))
            return _upload_form(request, form, 413)
        else:
            document = created.document
            messages.success(request, f"Uploaded “{document.title}”. Its text is being indexed.")
            if created.duplicate_of is not None:
                messages.warning(request, f"The same file was already uploaded as “{created.duplicate_of.title}”.")
            detail = reverse("documents:detail", args=[document.public_id])
            return hx_redirect(detail) if is_htmx(request) else redirect(detail)
    return _upload_form(request, form, 400)


@login_required
@require_safe
def document_detail(request, public_id: str):
    document = selectors.document_row(request.user, public_id, request)
    return render(request, "documents/detail.html", detail_context(request, document))


def _saved(form: EditForm, document, **changes):
    """Save the form's changes at the version it was read at; return the status to answer with: None when saved,
    400 (title taken, the error on the form) or 409 (changed meanwhile). Http404 if it was deleted meanwhile."""
    try:
        services.document_update(document=document, if_version=form.cleaned_data["version"], **changes)
    except services.DocumentGone:
        raise Http404("No such document.") from None
    except services.VersionConflict:
        return 409
    except services.TitleTaken as error:
        form.add_error("title", error)
        return 400
    return None


def _current(document):
    """Re-read a document whose change was refused, to show it as it is now (Http404 if it was deleted)."""
    try:
        document.refresh_from_db()
    except type(document).DoesNotExist:  # its tombstone was purged too
        raise Http404("No such document.") from None
    if document.deleted_at is not None:
        raise Http404("No such document.")
    return document


@login_required
@require_http_methods(["GET", "POST"])
def document_edit(request, public_id: str):
    document = selectors.document_for_user(request.user, public_id, request)
    sharing.require_editor(request.user, document)
    if request.method == "GET":
        initial = {"title": document.title, "description": document.description, "category": document.category,
                   "tags": ", ".join(tag.name for tag in document.tags.all())}
        form = EditForm(initial=initial, owner=document.owner, document=document)
        return render(request, "documents/edit.html", {"form": form, "document": document})
    form = EditForm(request.POST, owner=document.owner, document=document)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        status = _saved(form, document, title=data["title"], description=data["description"],
                        category=data["category"], tags=data["tags"])
        if status is None:
            messages.success(request, "Saved.")
            return redirect("documents:detail", public_id=document.public_id)
    document = _current(document)
    if status == 409:
        form = form.stale(document)
    return render(request, "documents/edit.html", {"form": form, "document": document}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def document_delete(request, public_id: str):
    document = selectors.document_for_user(request.user, public_id, request)
    sharing.require_owner(request.user, document)
    if request.method == "GET":
        return render(request, "documents/delete.html", {"document": document})
    try:
        services.document_trash(document=document, actor=request.user)
    except services.DocumentGone:
        raise Http404("No such document.") from None
    purge = timezone.localtime(services.trash_purge_date(document.trashed_at))
    messages.success(request, f"Moved “{document.title}” to the trash. You can restore it there until "
                              f"{purge:%-d %B %Y}, when it is deleted for good.")
    return redirect("documents:list")


@login_required
@require_safe
def document_download(request, public_id: str):
    return document_file_response(request, selectors.document_for_user(request.user, public_id, request))


@login_required_fragment
@require_http_methods(["GET", "POST"])
def document_title(request, public_id: str):
    """Edit only the title: a form fragment in place of the heading for htmx, a small page otherwise."""
    document = selectors.document_for_user(request.user, public_id, request)
    sharing.require_editor(request.user, document)
    if request.method == "GET":
        return _title_form(request, document, TitleForm(initial={"title": document.title}, owner=document.owner,
                                                        document=document), status=200)
    form = TitleForm(request.POST, owner=document.owner, document=document)
    status = 400
    if form.is_valid():
        # Only the title changes: the other fields keep their stored values, not the ones read here.
        status = _saved(form, document, title=form.cleaned_data["title"])
        if status is None:
            if is_htmx(request):
                return _title_heading(request, document)
            messages.success(request, "Saved.")
            return redirect("documents:detail", public_id=document.public_id)
    document = _current(document)
    if status == 409:
        form = form.stale(document)
    return _title_form(request, document, form, status=status)


@login_required_fragment
@require_safe
def document_heading(request, public_id: str):
    """The detail page's heading alone, which the title form's Cancel swaps back in."""
    return _title_heading(request, selectors.document_for_user(request.user, public_id, request))


def _title_form(request, document, form: TitleForm, status: int):
    if is_htmx(request):
        response = render(request, "partials/title_form.html", {"document": document, "form": form}, status=status)
    else:
        response = render(request, "documents/title.html", {"document": document, "form": form},
                               status=status)
    return vary_on_htmx(response)


def _title_heading(request, document):
    return render(request, "partials/title_heading.html", {"document": document, "swapped": True})


@login_required
@require_safe
def document_preview(request, public_id: str, page: int | None = None):
    """A preview image of the document: its thumbnail (no `page`), or page `page` (PNG/JPEG: 1, the image
    scaled)."""
    document = selectors.document_for_user(request.user, public_id, request)
    if page == previews.THUMBNAIL:
        raise Http404("No such page.")  # pages count from 1; the thumbnail has its own URL
    return previews.image_response(request, document, previews.THUMBNAIL if page is None else page)


@login_required_fragment
@never_cache
@require_safe
def document_suggest(request):
    """Up to 8 of the user's documents matching a partly typed search, as a list of links (an HTML fragment)."""
    q = " ".join(request.GET.get("q", "").split())[:200]
    documents = selectors.search_suggestions(request.user, q) if len(q) >= SUGGEST_MIN_LENGTH else []
    return render(request, "partials/suggestions.html", {"q": q, "documents": documents})


@login_required_fragment
@never_cache
@require_safe
def document_text_status(request, public_id: str):
    """The detail page's "Text" line alone, which the page polls while the text is being extracted: the answer
    stops the polling once the text is ready or unreadable."""
    document = selectors.document_row(request.user, public_id, request)
    return render(request, "partials/text_status.html", {"document": document})
