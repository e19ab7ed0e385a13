"""Background work: durable jobs (at least once, bounded attempts), extraction and the periodic jobs."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from helpers import stored_files
from strongbox.documents import services, tasks
from strongbox.documents.models import Document, DocumentText, Notification, TextStatus
from strongbox.documents.services import orphan_files_remove
from strongbox.ops import jobs
from strongbox.ops.models import Job

pytestmark = pytest.mark.django_db
calls: list[dict] = []
given_up: list[dict] = []


def _record_give_up(**arguments):
    given_up.append(arguments)


@jobs.job(max_attempts=3, retry_delay=10, give_up=_record_give_up)
def flaky(name: str, failures: int) -> None:
    """A job that fails its first `failures` attempts."""
    calls.append({"name": name})
    if len([call for call in calls if call["name"] == name]) <= failures:
        raise ConnectionError("the mail server hung up")


@pytest.fixture(autouse=True)
def fresh_calls():
    calls.clear()
    given_up.clear()


def make_due(job: Job) -> None:
    """Move the job's due time into the past, as if its lease or back-off had run out."""
    Job.objects.filter(pk=job.pk).update(due_at=timezone.now() - timedelta(minutes=5), nudged_at=None)


def test_it_writes_the_job_in_the_callers_transaction(django_capture_on_commit_callbacks):
    with pytest.raises(RuntimeError), transaction.atomic():
        flaky(name="rolled back", failures=0)
        raise RuntimeError("the change that needed the job failed")
    assert not Job.objects.exists()


def test_it_runs_a_job_once_committed_and_deletes_it(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        flaky(name="ok", failures=0)
    assert calls == [{"name": "ok"}]
    assert not Job.objects.exists()


def test_a_second_nudge_does_not_run_a_job_that_is_running_or_done(django_capture_on_commit_callbacks):
    job = flaky(name="once", failures=0)
    assert jobs._claim(job.pk) is not None  # a worker is running it: its lease has not run out
    jobs.run(job.pk)
    assert calls == []
    Job.objects.filter(pk=job.pk).delete()  # done
    jobs.run(job.pk)
    assert calls == []


def test_a_failed_attempt_is_retried_after_a_back_off_with_its_error_kept():
    job = flaky(name="retry", failures=1)
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.attempts == 1 and "hung up" in job.last_error
    assert timezone.now() + timedelta(seconds=8) < job.due_at < timezone.now() + timedelta(seconds=11)
    jobs.run(job.pk)  # a nudge before the back-off ends does nothing
    assert len(calls) == 1
    make_due(job)
    jobs.run(job.pk)
    assert len(calls) == 2 and not Job.objects.exists() and given_up == []


def test_it_gives_up_after_the_last_attempt_and_says_so_once():
    job = flaky(name="hopeless", failures=10)
    for _ in range(3):
        make_due(job)
        jobs.run(job.pk)
    assert len(calls) == 3
    assert given_up == [{"name": "hopeless", "failures": 10, "error": "ConnectionError: the mail server hung up"}]
    assert not Job.objects.exists()


def test_a_job_whose_worker_died_is_redone_once_its_lease_runs_out():
    job = flaky(name="killed", failures=0)
    assert jobs._claim(job.pk) is not None  # the worker took it, then died without finishing
    assert jobs.sweep() == 0  # still leased: nobody else may start it
    make_due(job)
    assert jobs.sweep() == 1  # nudged (tasks run inline in tests)
    assert calls == [{"name": "killed"}] and not Job.objects.exists()


def test_a_job_that_kills_its_worker_every_time_is_given_up_not_redone_forever():
    job = flaky(name="poison", failures=0)
    for _ in range(3):
        assert jobs._claim(job.pk) is not None  # each attempt dies with its worker
        make_due(job)
    jobs.run(job.pk)
    assert calls == []
    assert given_up == [{"name": "poison", "failures": 0,
                         "error": "the worker stopped during each of 3 attempts"}]
    assert not Job.objects.exists()


def test_the_sweep_nudges_each_lost_job_once_however_many_workers_sweep(monkeypatch):
    job = flaky(name="lost", failures=0)
    make_due(job)
    nudges = []
    monkeypatch.setattr(jobs, "_nudge", lambda job_id, delay=0: nudges.append(job_id))
    assert jobs.sweep() == 1
    assert jobs.sweep() == 0  # a second worker sweeping at the same time
    assert nudges == [job.pk]


def test_it_redoes_an_extraction_whose_nudge_was_lost(uploaded):
    lost = uploaded("md")
    Document.objects.filter(pk=lost.pk).update(text_status=TextStatus.PENDING)
    DocumentText.objects.filter(document=lost).delete()
    job = tasks.extract_document_text(document_id=lost.pk)  # its nudge never committed: as if lost
    make_due(job)
    assert jobs.sweep() == 1
    lost.refresh_from_db()
    assert lost.text_status == TextStatus.READY and DocumentText.objects.filter(document=lost).exists()
    assert not Job.objects.exists()


def test_an_extraction_given_up_marks_the_document_failed_and_tells_the_owner(uploaded, alice, monkeypatch):
    document = uploaded("md")
    Document.objects.filter(pk=document.pk).update(text_status=TextStatus.PENDING)
    Notification.objects.all().delete()

    def storage_down(**kwargs):
        raise OSError("the object store is unreachable")

    monkeypatch.setattr(services, "document_extract_text", storage_down)
    job = tasks.extract_document_text(document_id=document.pk)
    for _ in range(3):
        make_due(job)
        jobs.run(job.pk)
    document.refresh_from_db()
    assert document.text_status == TextStatus.FAILED and "unreachable" in document.text_error
    [note] = Notification.objects.filter(user=alice)
    assert note.kind == Notification.Kind.TEXT_FAILED
    assert not Job.objects.exists()


def test_it_removes_old_orphans_but_keeps_recent_and_referenced_files(uploaded, isolated_storage):
    # Real ages, so the test holds for every store (S3 has no way to back-date an object): two seconds apart,
    # as stores may keep modification times to the second.
    document = uploaded("txt")
    old_orphan = default_storage.save("documents/ab/old-orphan", ContentFile(b"x"))
    time.sleep(2.1)
    new_orphan = default_storage.save("documents/ab/new-orphan", ContentFile(b"x"))
    assert orphan_files_remove(older_than=timedelta(seconds=1)) == 1
    assert stored_files(isolated_storage) == sorted([document.file.name, new_orphan])
    assert not default_storage.exists(old_orphan)


def test_it_finds_nothing_to_remove_in_an_empty_store(isolated_storage):
    assert orphan_files_remove() == 0


def test_extraction_is_idempotent(uploaded):
    document = uploaded("md")
    first = DocumentText.objects.get(document=document).body
    tasks.extract_document_text.run(document_id=document.pk)
    assert DocumentText.objects.filter(document=document).count() == 1
    assert DocumentText.objects.get(document=document).body == first
    document.refresh_from_db()
    assert document.text_status == TextStatus.READY


def test_extraction_of_a_deleted_document_does_nothing(uploaded):
    document = uploaded("txt")
    pk = document.pk
    Document.objects.filter(pk=pk).delete()
    tasks.extract_document_text.run(document_id=pk)
    assert not DocumentText.objects.filter(document_id=pk).exists()


def test_extraction_is_bounded_in_time(uploaded, settings):
    settings.EXTRACT_TIMEOUT = 0.001
    document = uploaded("pdf")
    document.refresh_from_db()
    assert document.text_status == TextStatus.FAILED
    assert "timed out" in document.text_error


def test_a_periodic_job_runs_once_however_many_workers_schedule_it(monkeypatch):
    runs = []
    monkeypatch.setattr(services, "orphan_files_remove", lambda: runs.append(1))
    tasks.remove_orphan_files.call_local()
    tasks.remove_orphan_files.call_local()
    assert runs == [1]
    cache.clear()  # half the interval later, the claim has expired
    tasks.remove_orphan_files.call_local()
    assert runs == [1, 1]
