"""The cookies Strongbox sets besides Django's session and CSRF cookies, held to the same rules.

In production (HTTPS) every cookie is Secure and carries the `__Host-` prefix: the browser then refuses it over
plain HTTP, with a Domain attribute or outside Path=/, so a sibling subdomain or a network attacker cannot set or
overwrite it. COOKIE_PREFIX (settings) is that prefix, empty outside production.
"""

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.messages.storage.session import SessionStorage
from django.http import HttpRequest, HttpResponse


def name(base: str) -> str:
    """Return the cookie's name as this deployment sets it."""
    return f"{settings.COOKIE_PREFIX}{base}"


def get(request: HttpRequest, base: str, default: str = "") -> str:
    return request.COOKIES.get(name(base), default)


def set_preference(response: HttpResponse, base: str, value: str, max_age: int) -> None:
    """Remember a display preference. Readable by scripts (it holds no secret), Secure in production."""
    response.set_cookie(name(base), value, max_age=max_age, path="/", secure=settings.SESSION_COOKIE_SECURE,
                        samesite="Lax")


class _PrefixedCookieStorage(CookieStorage):
    """Django's message cookie under the prefixed name. Django sets it with the session cookie's Secure and
    HttpOnly flags, and deletes it without them unless the name has a `__Host-` prefix: so the prefix also makes
    the deleting header Secure."""

    @property
    def cookie_name(self) -> str:
        return name("messages")


class MessageStorage(FallbackStorage):
    """Messages in the prefixed cookie, in the session when they do not fit (Django's FallbackStorage)."""

    storage_classes = (_PrefixedCookieStorage, SessionStorage)
