import json
import logging

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from helpers import PASSWORD
from strongbox.accounts import audit
from strongbox.accounts.models import AuditEvent
from strongbox.documents import services
from strongbox.lib.clientip import parse_networks

pytestmark = pytest.mark.django_db


def test_it_records_sign_in_and_sign_out_with_address_and_agent(alice):
    client = Client(REMOTE_ADDR="192.0.2.5", HTTP_USER_AGENT="Firefox")
    client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    client.post(reverse("accounts:logout"))
    events = list(AuditEvent.objects.order_by("id").values_list("kind", "user__username", "ip", "user_agent"))
    assert events == [("login", "alice", "192.0.2.5", "Firefox"), ("logout", "alice", "192.0.2.5", "Firefox")]


def test_it_records_password_changes_and_sign_out_everywhere(alice_client):
    new = "another long passphrase"
    alice_client.post(reverse("accounts:password_change"),
                      {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    alice_client.post(reverse("accounts:sessions_end_all"))
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"password_changed", "sessions_ended"} <= kinds


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_log_lines_cannot_be_forged_with_newlines(alice):
    handler = Collect()
    logging.getLogger("strongbox.audit").addHandler(handler)
    try:
        audit.record(AuditEvent.Kind.LOGIN_FAILED, username="eve\n2026-01-01 INFO strongbox.audit admin ok")
    finally:
        logging.getLogger("strongbox.audit").removeHandler(handler)
    [line] = handler.lines
    assert "\n" not in line
    assert json.loads(line)["user"].startswith("eve\n")


def test_users_see_only_their_own_events(alice_client, bob):
    audit.record(AuditEvent.Kind.LOGIN, user=bob)
    audit.record(AuditEvent.Kind.PASSWORD_CHANGED, user=bob.__class__.objects.get(username="alice"))
    page = alice_client.get(reverse("accounts:activity"))
    assert page.status_code == 200
    events = page.context["events"]
    assert "password_changed" in [e.kind for e in events]
    assert all(e.user.username == "alice" for e in events)


def test_the_activity_page_needs_a_sign_in(anonymous_client):
    assert anonymous_client.get(reverse("accounts:activity")).status_code == 302


def test_asking_for_someone_elses_document_is_recorded_but_looks_missing(uploaded, bob_client):
    document = uploaded("txt")
    response = bob_client.get(reverse("documents:detail", args=[document.public_id]))
    assert response.status_code == 404
    [event] = AuditEvent.objects.filter(kind=AuditEvent.Kind.ACCESS_REFUSED)
    assert event.user.username == "bob" and document.public_id in event.detail


def test_deleting_a_document_on_the_web_is_audited_with_the_clients_address_and_agent(uploaded, alice, settings):
    document = uploaded("txt", title="Lease")
    # Behind a trusted proxy: the address recorded is the client's, as the proxy middleware resolved it.
    settings.TRUSTED_PROXIES = parse_networks(["10.0.0.2"])
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5", HTTP_USER_AGENT="Firefox/140")
    client.force_login(alice)
    assert client.post(reverse("documents:delete", args=[document.public_id])).status_code == 302
    [event] = AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_DELETED)
    assert (event.user, event.ip, event.user_agent) == (alice, "203.0.113.5", "Firefox/140")
    assert event.detail == f"{document.public_id} “Lease”"


def test_a_deletion_outside_a_request_is_audited_as_the_systems(uploaded):
    document = uploaded("txt", title="Lease")
    services.document_delete(document=document)
    [event] = AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_DELETED)
    assert (event.user, event.ip, event.user_agent) == (None, None, "")
    assert event.detail == f"{document.public_id} “Lease” of alice"


def test_only_superusers_can_change_privileges_in_the_admin(alice, bob):
    from django.contrib.auth.models import Permission

    alice.is_staff = True
    alice.save()
    alice.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("admin:accounts_user_change", args=[bob.pk]))
    assert page.status_code == 200
    assert b'name="is_superuser"' not in page.content and b'name="is_staff"' not in page.content
    client.post(reverse("admin:accounts_user_change", args=[bob.pk]), {
        "username": "bob", "email": "bob@example.com", "is_active": "on", "is_staff": "on", "is_superuser": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    bob.refresh_from_db()
    assert not bob.is_staff and not bob.is_superuser


@pytest.mark.skipif(settings.DATABASE_URL != "", reason="on PostgreSQL the audit log is partitioned (tests/scaleout)")
def test_the_auditlog_command_explains_that_sqlite_keeps_one_table():
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("auditlog", "--ensure", "3")
