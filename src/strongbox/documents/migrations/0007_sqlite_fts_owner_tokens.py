"""SQLite's search index finds a user's documents by a token in an indexed owner column instead of filtering every
match on an unindexed owner id, and lists its terms for excerpts of long prefixes (documents/search/sqlite.py)."""

from django.db import migrations

from strongbox.documents.search.sqlite import CREATE_SQL, TERMS_SQL

def tokens(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("ALTER TABLE documents_fts RENAME TO documents_fts_old")
    schema_editor.execute(CREATE_SQL)
    schema_editor.execute("INSERT INTO documents_fts (rowid, owner, title, tags, description, body) "
                          "SELECT rowid, 'u' || owner_id, title, tags, description, body FROM documents_fts_old")
    schema_editor.execute("DROP TABLE documents_fts_old")
    schema_editor.execute(TERMS_SQL)


def ids(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("DROP TABLE IF EXISTS documents_fts_terms")
    schema_editor.execute("ALTER TABLE documents_fts RENAME TO documents_fts_old")
    schema_editor.execute("CREATE VIRTUAL TABLE documents_fts USING fts5(owner_id UNINDEXED, title, tags, description, "
                          "body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')")
    schema_editor.execute("INSERT INTO documents_fts (rowid, owner_id, title, tags, description, body) "
                          "SELECT rowid, CAST(substr(owner, 2) AS INTEGER), title, tags, description, body "
                          "FROM documents_fts_old")
    schema_editor.execute("DROP TABLE documents_fts_old")


class Migration(migrations.Migration):
    dependencies = [("documents", "0006_document_tombstones")]
    operations = [migrations.RunPython(tokens, ids)]
