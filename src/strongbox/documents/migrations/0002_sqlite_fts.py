from django.db import migrations

from strongbox.documents.search.sqlite import CREATE_SQL, TABLE


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
