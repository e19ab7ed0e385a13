"""The owner's sharing page (the share dialog: shares with users and share links) and the public share-link page.

The dialog works as plain forms that post and redirect back; with htmx, adding a share swaps the panel in place
(partials/share_panel.html) instead, errors included. Revoking asks for confirmation on a page of its own."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from strongbox.documents import previews
from strongbox.documents.downloads import document_file_response
from strongbox.documents.htmx import is_htmx, vary_on_htmx
from strongbox.sharing import selectors, services
from strongbox.sharing.forms import LinkForm, LinkPasswordForm, PermissionForm, ShareForm
from strongbox.sharing.preview import preview_text

NEW_LINK_KEY = "sharing:new-link"  # the session's one-time copy of a just-created link's URL
UNLOCKED_KEY = "sharing:unlocked"  # the ids of the links whose password this session typed right


def panel_context(request, document, *, share_form=None, link_form=None) -> dict:
    """What the share panel shows: the document's shares and links, the two forms, and the URL of a link just
    created (shown once: only its hash is stored)."""
    new_link = request.session.pop(NEW_LINK_KEY, None)
    return {"document": document, "shares": selectors.shares_of(document), "links": selectors.links_of(document),
            "share_form": share_form or ShareForm(), "link_form": link_form or LinkForm(),
            "now": timezone.now(),
            "new_link": new_link if new_link and new_link.get("document") == document.public_id else None}


def detail_context(request, document) -> dict:
    """What the document's detail page adds for sharing: what the user may do with it, and for its owner the
    share panel."""
    access = selectors.access(request.user, document)
    return {"access": access, **(panel_context(request, document) if access == selectors.OWNER else {})}


def _sharing_url(document) -> str:
    return reverse("sharing:page", args=[document.public_id])


@login_required
@require_http_methods(["GET", "POST"])
def sharing_page(request, public_id: str):
    """GET: the share dialog as a page. POST: share with a user."""
    document = selectors.owned_document(request.user, public_id, request)
    if request.method == "GET":
        return render(request, "sharing/share.html", panel_context(request, document))
    form = ShareForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            share = services.share_create(document=document, actor=request.user, recipient=data["recipient"],
                                          can_edit=data["permission"] == "edit")
        except services.ShareRefused as error:
            form.add_error("recipient", error)
        else:
            messages.success(request, f"Shared with {share.user.get_username()}.")
            if is_htmx(request):
                return vary_on_htmx(render(request, "partials/share_panel.html", panel_context(request, document)))
            return redirect(_sharing_url(document))
    context = panel_context(request, document, share_form=form)
    template = "partials/share_panel.html" if is_htmx(request) else "sharing/share.html"
    return vary_on_htmx(render(request, template, context, status=400))


@login_required
@require_POST
def share_permission(request, public_id: str, share_id: int):
    document = selectors.owned_document(request.user, public_id, request)
    share = selectors.share_of(document, share_id)
    form = PermissionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose “Can read” or “Can edit”.")
        return redirect(_sharing_url(document))
    services.share_update(share=share, actor=request.user, can_edit=form.cleaned_data["permission"] == "edit")
    messages.success(request, f"{share.user.get_username()} {services._permission(share.can_edit)} it now.")
    return redirect(_sharing_url(document))


@login_required
@require_http_methods(["GET", "POST"])
def share_revoke(request, public_id: str, share_id: int):
    """GET: confirm. POST: stop sharing with that user."""
    document = selectors.owned_document(request.user, public_id, request)
    share = selectors.share_of(document, share_id)
    if request.method == "GET":
        return render(request, "sharing/revoke.html", {"document": document, "what": share.user.get_username(),
                                                       "kind": "share"})
    services.share_revoke(share=share, actor=request.user)
    messages.success(request, f"Stopped sharing with {share.user.get_username()}.")
    return redirect(_sharing_url(document))


@login_required
@require_POST
def link_create(request, public_id: str):
    document = selectors.owned_document(request.user, public_id, request)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            _, token = services.link_create(document=document, actor=request.user,
                                            days=int(form.cleaned_data["expires"]),
                                            password=form.cleaned_data["password"])
        except services.ShareRefused as error:
            form.add_error("expires", error)
        else:
            request.session[NEW_LINK_KEY] = {"document": document.public_id, "url": request.build_absolute_uri(
                reverse("sharing:link", args=[token]))}
            return redirect(_sharing_url(document) + "#links")
    return render(request, "sharing/share.html", panel_context(request, document, link_form=form), status=400)


@login_required
@require_http_methods(["GET", "POST"])
def link_revoke(request, public_id: str, link_id: int):
    document = selectors.owned_document(request.user, public_id, request)
    link = selectors.link_of(document, link_id)
    if request.method == "GET":
        return render(request, "sharing/revoke.html", {"document": document, "link": link, "kind": "link",
                                                       "what": f"the link made {link.created_at:%Y-%m-%d %H:%M}"})
    services.link_revoke(link=link, actor=request.user)
    messages.success(request, "The link is revoked: it opens nothing any more.")
    return redirect(_sharing_url(document) + "#links")


# The public share-link page.

def public(view):
    """For every answer of a share link, the 404 too: never indexed, never cached, and no Referer sent from it (the
    token is in its URL)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return never_cache(wrapper)


def _missing(request):
    """The one answer for an unknown, expired or revoked token, and for one whose document was deleted."""
    return render(request, "sharing/link_missing.html", status=404)


def _unlocked(request, link) -> bool:
    return not link.has_password or link.pk in request.session.get(UNLOCKED_KEY, [])


@public
@require_http_methods(["GET", "POST"])
def link_page(request, token: str):
    link = services.link_for_token(token)
    if link is None:
        return _missing(request)
    if request.method == "POST":
        return _password(request, link, token) if link.has_password else redirect("sharing:link", token=token)
    if not _unlocked(request, link):
        return render(request, "sharing/link_password.html", {"form": LinkPasswordForm(), "link": link})
    services.link_opened(request, link)
    return render(request, "sharing/link_page.html", {"link": link, "document": link.document, "token": token,
                                                      "preview_text": preview_text(link.document)})


def _password(request, link, token: str):
    form = LinkPasswordForm(request.POST)
    status = 400
    if form.is_valid():
        right, wait = services.link_check_password(request, link, form.cleaned_data["password"])
        if right:
            # Only this link: another link of the same document asks for its own password.
            request.session[UNLOCKED_KEY] = [*request.session.get(UNLOCKED_KEY, []), link.pk][-50:]
            return redirect("sharing:link", token=token)
        if wait:
            status = 429
            form.add_error("password", f"Too many wrong passwords for this link. Try again in "
                                       f"{max(1, -(-wait // 60))} minute{'s' if wait > 60 else ''}.")
        else:
            form.add_error("password", "That is not the link's password.")
    return render(request, "sharing/link_password.html", {"form": form, "link": link}, status=status)


@public
@require_safe
def link_preview(request, token: str):
    """The image the link's page shows: the document's first page (a PDF's, or the scaled picture), else its
    thumbnail card; the same 404 as the page for a link that does not open."""
    link = services.link_for_token(token)
    if link is None or not _unlocked(request, link):
        return _missing(request)
    document = link.document
    return previews.image_response(request, document, 1 if document.preview_pages else previews.THUMBNAIL)


@public
@require_safe
def link_download(request, token: str):
    link = services.link_for_token(token)
    if link is None or not _unlocked(request, link):
        return _missing(request)
    response = document_file_response(request, link.document)
    # A download counts once: not again for each further range of the same one, nor for a 304.
    if response.status_code in (200, 302) or (response.status_code == 206
                                       and request.headers.get("Range", "").startswith("bytes=0-")):
        services.link_downloaded(request, link)
    return response
