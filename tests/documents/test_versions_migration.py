"""Migration 0008 gives every kept document its current file as version 1, and leaves tombstones without one."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE, AFTER = [("documents", "0007_sqlite_fts_owner_tokens")], [("documents", "0008_trash_versions")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_records_each_documents_file_as_its_first_version(alice):
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        Document = executor.loader.project_state(BEFORE).apps.get_model("documents", "Document")
        kept = Document._base_manager.create(owner_id=alice.pk, title="Kept", file="documents/ab/kept",
                                             original_filename="kept.pdf", extension="pdf",
                                             content_type="application/pdf", size=42, sha256="a" * 64)
        Document._base_manager.create(owner_id=alice.pk, title="Gone", file="documents/ab/gone",
                                      original_filename="gone.txt", extension="txt", content_type="text/plain",
                                      size=1, sha256="b" * 64, deleted_at=timezone.now())
        executor.loader.build_graph()
        executor.migrate(AFTER)
        Version = executor.loader.project_state(AFTER).apps.get_model("documents", "DocumentVersion")
        versions = list(Version.objects.values_list("document_id", "number", "file", "original_filename", "size",
                                                    "sha256", "uploaded_by_id"))
        assert versions == [(kept.pk, 1, "documents/ab/kept", "kept.pdf", 42, "a" * 64, alice.pk)]
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
