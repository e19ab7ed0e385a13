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
    [event] = AuditEvent.objects.filter(kind=AuditEvent.Kind.DOCUMENT_TRASHED)
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


@pytest.fixture
def helpdesk_client(alice):
    """alice as staff with the change-user permission, not a superuser."""
    from django.contrib.auth.models import Permission

    alice.is_staff = True
    alice.save()
    alice.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user", "delete_user"]))
    client = Client(REMOTE_ADDR="192.0.2.9")
    client.force_login(alice)
    return client


@pytest.mark.parametrize("privilege", [{"is_superuser": True, "is_staff": True}, {"is_staff": True}])
def test_staff_cannot_touch_a_staff_account_in_the_admin_and_the_attempt_is_audited(helpdesk_client, bob,
                                                                                     privilege):
    type(bob).objects.filter(pk=bob.pk).update(**privilege)
    before = type(bob).objects.values().get(pk=bob.pk)
    password = reverse("admin:auth_user_password_change", args=[bob.pk])
    assert helpdesk_client.get(password).status_code == 403
    assert helpdesk_client.post(password, {"password1": "a new long passphrase",
                                           "password2": "a new long passphrase"}).status_code == 403
    change = reverse("admin:accounts_user_change", args=[bob.pk])
    assert helpdesk_client.get(change).status_code == 200  # still shown, read-only
    assert helpdesk_client.post(change, {"username": "bob", "email": "mine@example.com", "is_active": "on",
                                         "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}).status_code == 403
    delete = reverse("admin:accounts_user_delete", args=[bob.pk])
    assert helpdesk_client.post(delete, {"post": "yes"}).status_code == 403
    bulk = helpdesk_client.post(reverse("admin:accounts_user_changelist"),
                                {"action": "delete_selected", "_selected_action": [bob.pk], "post": "yes"})
    assert bulk.status_code == 403
    confirm = helpdesk_client.post(reverse("admin:accounts_user_changelist"),
                                   {"action": "delete_selected", "_selected_action": [bob.pk]})
    assert b"only a superuser may delete them" in confirm.content
    assert type(bob).objects.values().get(pk=bob.pk) == before
    refused = AuditEvent.objects.filter(kind=AuditEvent.Kind.ACCESS_REFUSED, user__username="alice")
    assert {event.detail for event in refused} == {f"set the password of bob (id {bob.pk}) in the admin",
                                                   f"change the account of bob (id {bob.pk}) in the admin"}
    assert {event.ip for event in refused} == {"192.0.2.9"}


def test_staff_changes_to_a_users_email_and_password_are_audited(helpdesk_client, bob,
                                                                 django_capture_on_commit_callbacks):
    from django.core import mail

    change = reverse("admin:accounts_user_change", args=[bob.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert helpdesk_client.post(change, {"username": "bob", "email": "bob@elsewhere.example", "is_active": "on",
                                             "date_joined_0": "2026-01-01",
                                             "date_joined_1": "00:00:00"}).status_code == 302
    assert helpdesk_client.post(reverse("admin:auth_user_password_change", args=[bob.pk]), {
        "password1": "a new long passphrase", "password2": "a new long passphrase",
        "usable_password": "true"}).status_code == 302
    events = list(AuditEvent.objects.filter(user__username="alice").exclude(kind=AuditEvent.Kind.LOGIN)
                  .order_by("id").values_list("kind", "detail"))
    assert events == [
        ("email_changed", f"E-mail of bob (id {bob.pk}) in the admin: bob@example.com to bob@elsewhere.example"),
        ("account_changed", f"Change of bob (id {bob.pk}) in the admin: date_joined"),  # the form's own date
        ("password_changed", f"Password of bob (id {bob.pk}) in the admin")]
    assert [message.to for message in mail.outbox] == [["bob@example.com"]]  # the old address is told


def test_a_superuser_may_change_a_staff_account(alice, bob):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    type(bob).objects.filter(pk=bob.pk).update(is_staff=True)
    client = Client()
    client.force_login(alice)
    assert client.post(reverse("admin:auth_user_password_change", args=[bob.pk]), {
        "password1": "a new long passphrase", "password2": "a new long passphrase",
        "usable_password": "true"}).status_code == 302
    bob.refresh_from_db()
    assert bob.check_password("a new long passphrase")


@pytest.mark.skipif(settings.DATABASE_URL != "", reason="on PostgreSQL the audit log is partitioned (tests/scaleout)")
def test_the_auditlog_command_explains_that_sqlite_keeps_one_table():
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("auditlog", "--ensure", "3")


def test_staff_changes_to_a_users_status_and_deletions_are_audited(helpdesk_client, bob):
    change = reverse("admin:accounts_user_change", args=[bob.pk])
    assert helpdesk_client.post(change, {"username": "bob", "email": "bob@example.com",  # is_active left off
                                         "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}).status_code == 302
    assert helpdesk_client.post(reverse("admin:accounts_user_delete", args=[bob.pk]),
                                {"post": "yes"}).status_code == 302
    events = list(AuditEvent.objects.filter(user__username="alice", kind=AuditEvent.Kind.ACCOUNT_CHANGED)
                  .order_by("id").values_list("detail", flat=True))
    # (date_joined changes too: the form has no microseconds)
    assert events[0].startswith(f"Change of bob (id {bob.pk}) in the admin: is_active")
    assert events[1:] == [f"Deletion of bob (id {bob.pk}) in the admin"]
