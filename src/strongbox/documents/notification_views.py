"""The notifications page, the header badge's unread count (polled by htmx) and "mark all as read"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from strongbox.documents import selectors, services
from strongbox.documents.htmx import login_required_fragment


@login_required
@require_safe
def notification_list(request):
    page = selectors.notification_page(request.user, request.GET.get("page"))
    return render(request, "documents/notifications.html", {"notifications": page.object_list, "page": page})


@login_required_fragment
@never_cache
@require_safe
def notification_badge(request):
    """The header badge's count alone, which pages poll every few seconds."""
    return render(request, "partials/notification_count.html")


@login_required
@require_POST
def notification_mark_read(request):
    marked = services.notifications_mark_read(user=request.user)
    messages.success(request, f"Marked {marked} notification{'' if marked == 1 else 's'} as read."
                     if marked else "There were no unread notifications.")
    return redirect("notifications:list")
