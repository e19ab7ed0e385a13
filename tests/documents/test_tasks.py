import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import F

from helpers import stored_files
from strongbox.documents import services, tasks
from strongbox.documents.models import Document, DocumentText, TextStatus
from strongbox.documents.services import orphan_files_remove, stalled_extractions_requeue

pytestmark = pytest.mark.django_db


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
    tasks.extract_document_text.call_local(document.pk)
    assert DocumentText.objects.filter(document=document).count() == 1
    assert DocumentText.objects.get(document=document).body == first
    document.refresh_from_db()
    assert document.text_status == TextStatus.READY


def test_extraction_of_a_deleted_document_does_nothing(uploaded):
    document = uploaded("txt")
    pk = document.pk
    Document.objects.filter(pk=pk).delete()
    tasks.extract_document_text.call_local(pk)
    assert not DocumentText.objects.filter(document_id=pk).exists()


def test_extraction_is_bounded_in_time(uploaded, settings):
    settings.EXTRACT_TIMEOUT = 0.001
    document = uploaded("pdf")
    document.refresh_from_db()
    assert document.text_status == TextStatus.FAILED
    assert "timed out" in document.text_error


def test_it_requeues_extraction_for_documents_whose_task_was_lost(uploaded):
    lost = uploaded("md")
    Document.objects.filter(pk=lost.pk).update(text_status=TextStatus.PENDING, created_at=F("created_at") -
                                               timedelta(hours=1))
    DocumentText.objects.filter(document=lost).delete()
    recent = uploaded("txt")
    Document.objects.filter(pk=recent.pk).update(text_status=TextStatus.PENDING)
    assert stalled_extractions_requeue() == 1
    lost.refresh_from_db()
    assert lost.text_status == TextStatus.READY and DocumentText.objects.filter(document=lost).exists()
    assert Document.objects.get(pk=recent.pk).text_status == TextStatus.PENDING


def test_a_periodic_job_runs_once_however_many_workers_schedule_it(monkeypatch):
    runs = []
    monkeypatch.setattr(services, "orphan_files_remove", lambda: runs.append(1))
    tasks.remove_orphan_files.call_local()
    tasks.remove_orphan_files.call_local()
    assert runs == [1]
    cache.clear()  # half the interval later, the claim has expired
    tasks.remove_orphan_files.call_local()
    assert runs == [1, 1]
