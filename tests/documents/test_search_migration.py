"""Migration 0007 moves SQLite's search index to owner tokens, keeping every entry, and can be undone."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from strongbox.documents.search.sqlite import SqliteSearchBackend

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 index is the embedded mode's")
BEFORE, AFTER = [("documents", "0006_document_tombstones")], [("documents", "0007_sqlite_fts_owner_tokens")]


@pytest.mark.django_db(transaction=True)
def test_the_owner_token_migration_keeps_every_entry_and_can_be_undone():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO documents_fts (rowid, owner_id, title, tags, description, body) "
                               "VALUES (%s, %s, %s, '', '', %s)",
                               [(1, 7, "Alpha", "needle one"), (2, 8, "Beta", "needle two")])
        executor.loader.build_graph()
        executor.migrate(AFTER)
        backend = SqliteSearchBackend()
        assert backend.search(owner_id=7, query="needle") == [1]
        assert backend.search(owner_id=8, query="beta") == [2]
        executor.loader.build_graph()
        executor.migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT rowid, owner_id FROM documents_fts WHERE documents_fts MATCH 'needle' "
                           "ORDER BY rowid")
            assert cursor.fetchall() == [(1, 7), (2, 8)]
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
