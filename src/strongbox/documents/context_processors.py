from django.utils.functional import SimpleLazyObject

from strongbox.documents import selectors


def notifications(request) -> dict:
    """Give every page the signed-in user's unread count for the header badge, counted only if a template shows it
    (fragments that leave the header alone cost no query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: selectors.unread_notification_count(user))}


def trash(request) -> dict:
    """Give every page the number of documents in the signed-in user's trash for the header's link, counted only
    if a template shows it (cached until their documents change)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"trash_count": SimpleLazyObject(lambda: selectors.trash_count(user))}
