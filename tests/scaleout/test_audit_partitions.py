"""The audit log as a PostgreSQL table partitioned by month: events land in their month's partition, coming
months are created ahead, and old months detach whole."""

import datetime

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from strongbox.accounts import partitions
from strongbox.accounts.models import AuditEvent

pytestmark = [
    pytest.mark.skipif(not settings.SCALE_OUT_RUN, reason="runs in the scale-out run of the suite (make test)"),
    pytest.mark.django_db,
]


def partition_of(event: AuditEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM accounts_auditevent WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def test_the_audit_log_is_partitioned_by_month_with_months_ready_ahead():
    assert partitions.is_partitioned()
    today = timezone.now().date()
    names = partitions.partitions()
    assert f"accounts_auditevent_y{today.year:04d}m{today.month:02d}" in names and len(names) >= 3
    event = AuditEvent.objects.create(kind=AuditEvent.Kind.LOGIN, username="alice")
    assert partition_of(event) == f"accounts_auditevent_y{today.year:04d}m{today.month:02d}"


def test_an_event_outside_every_month_lands_in_the_default_partition():
    event = AuditEvent.objects.create(kind=AuditEvent.Kind.LOGIN, username="alice")
    AuditEvent.objects.filter(pk=event.pk).update(created_at=datetime.datetime(2019, 5, 1, tzinfo=datetime.UTC))
    assert partition_of(event) == "accounts_auditevent_default"


def test_old_months_detach_whole_and_keep_their_table(capsys):
    assert partitions.partitions_ensure(start=datetime.date(2025, 1, 1), months=2) == [
        "accounts_auditevent_y2025m01", "accounts_auditevent_y2025m02"]
    old = AuditEvent.objects.create(kind=AuditEvent.Kind.LOGIN, username="alice")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=datetime.datetime(2025, 1, 15, tzinfo=datetime.UTC))
    recent = AuditEvent.objects.create(kind=AuditEvent.Kind.LOGOUT, username="alice")
    assert partition_of(old) == "accounts_auditevent_y2025m01"

    call_command("auditlog", "--detach-before", "2025-02")
    assert "detached accounts_auditevent_y2025m01" in capsys.readouterr().out
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_auditevent_y2025m01")
        assert cursor.fetchone()[0] == 1
    assert "accounts_auditevent_y2025m02" in partitions.partitions()


def test_the_command_refuses_a_malformed_month():
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("auditlog", "--detach-before", "2025-13")
