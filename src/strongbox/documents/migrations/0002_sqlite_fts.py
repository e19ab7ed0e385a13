from django.db import migrations

# As this migration made it (0007 gave the owner a column of tokens).
TABLE = "documents_fts"
CREATE_SQL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5("
    "owner_id UNINDEXED, title, tags, description, body, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
)


def create_fts(apps, schema_editor):
    # The FTS5 index belongs to the SQLite backend only; other databases bring their own search migration.
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE_SQL)


def drop_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]
    operations = [migrations.RunPython(create_fts, drop_fts)]
