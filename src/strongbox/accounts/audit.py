"""The audit log: one function to record an event, and the signal receivers that record sign-ins and -outs.

Each event is a row (users see their own, staff see all in the admin) and a log line on the `strongbox.audit`
logger. The line is JSON, so a newline or quote in a username or user agent cannot forge another entry.

Services record their events themselves (a document deleted, a key created or revoked), whoever calls them: they
name the acting user, and the address and user agent come from the request being answered (`current_client`).
"""

import ipaddress
import json
import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from strongbox.accounts.models import AuditEvent
from strongbox.ops.middleware import current_client

log = logging.getLogger("strongbox.audit")
Kind = AuditEvent.Kind


def _ip(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _client_of(request: HttpRequest | None) -> tuple[str, str]:
    """Return the address and user agent of `request`, else of the request being answered ("" outside one)."""
    if request is not None:
        return request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_USER_AGENT", "")
    client = current_client()
    return (client.address, client.user_agent) if client is not None else ("", "")


def record(kind: str, request: HttpRequest | None = None, *, user=None, username: str = "",
           detail: str = "") -> AuditEvent:
    """Record a security event; `user` defaults to the request's signed-in user. Without `request`, the address
    and user agent are those of the request being answered, if any (services record their events this way)."""
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    address, user_agent = _client_of(request)
    event = AuditEvent.objects.create(
        kind=kind, user=user, username=(username or (user.get_username() if user else ""))[:150],
        ip=_ip(address), detail=detail[:300], user_agent=user_agent[:300],
    )
    log.info(json.dumps({"event": kind, "user": event.username, "ip": event.ip, "user_agent": event.user_agent,
                         "detail": event.detail}, ensure_ascii=True))
    return event


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record(Kind.LOGIN, request, user=user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(Kind.LOGOUT, request, user=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    # The account may not exist: record the name as typed, never whether it matched anyone.
    record(Kind.LOGIN_FAILED, request, username=str(credentials.get("username", "")))
