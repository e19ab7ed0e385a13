"""The audit log: one function to record an event, and the signal receivers that record sign-ins and -outs.

Each event is a row (users see their own, staff see all in the admin) and a log line on the `strongbox.audit`
logger. The line is JSON, so a newline or quote in a username or user agent cannot forge another entry.
"""

import ipaddress
import json
import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from strongbox.accounts.models import AuditEvent

log = logging.getLogger("strongbox.audit")
Kind = AuditEvent.Kind


def _ip(request: HttpRequest | None) -> str | None:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record(kind: str, request: HttpRequest | None = None, *, user=None, username: str = "",
           detail: str = "") -> AuditEvent:
    """Record a security event; `user` defaults to the request's signed-in user."""
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    event = AuditEvent.objects.create(
        kind=kind, user=user, username=(username or (user.get_username() if user else ""))[:150],
        ip=_ip(request), detail=detail[:300],
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:300],
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
