from django.db import migrations

from strongbox.documents.search.postgres import CREATE_SQL, DROP_SQL


def create_search(apps, schema_editor):
    # The tsvector index belongs to the PostgreSQL backend only (0002 made SQLite's).
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE_SQL:
            schema_editor.execute(statement)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP_SQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("documents", "0004_document_version")]
    operations = [migrations.RunPython(create_search, drop_search)]
