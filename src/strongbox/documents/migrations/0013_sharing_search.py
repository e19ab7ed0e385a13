"""The search index knows whom each document is shared with, so their searches find it (sharing app, search/).

SQLite keeps readers as more tokens of its owner column ("u42 u7"): nothing changes in its table. PostgreSQL gets a
`reader_ids` array with a GIN index. Existing entries have no readers: there were no shares before this."""

from django.db import migrations

from strongbox.documents.search.postgres import READERS_DROP_SQL, READERS_SQL


def add_readers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in READERS_SQL:
            schema_editor.execute(statement)


def drop_readers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in READERS_DROP_SQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("documents", "0011_views_notes_categories")]
    operations = [migrations.RunPython(add_readers, drop_readers)]
