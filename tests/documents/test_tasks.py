import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from helpers import stored_files
from strongbox.documents import tasks
from strongbox.documents.models import Document, DocumentText, TextStatus
from strongbox.documents.services import orphan_files_remove

pytestmark = pytest.mark.django_db


def age(name: str, seconds: int) -> None:
    path = default_storage.path(name)
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_it_removes_old_orphans_but_keeps_recent_and_referenced_files(uploaded, isolated_storage):
    document = uploaded("txt")
    old_orphan = default_storage.save("documents/ab/old-orphan", ContentFile(b"x"))
    new_orphan = default_storage.save("documents/ab/new-orphan", ContentFile(b"x"))
    age(old_orphan, 7200)
    age(document.file.name, 7200)
    assert orphan_files_remove() == 1
    assert stored_files(isolated_storage) == sorted([document.file.name, new_orphan])


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
