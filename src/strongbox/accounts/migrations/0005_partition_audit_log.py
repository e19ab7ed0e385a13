from django.db import migrations

from strongbox.accounts.partitions import CONVERT_SQL, COPY_SQL, partitions_ensure


def partition(apps, schema_editor):
    # Monthly partitions on PostgreSQL only (accounts/partitions.py says why); SQLite keeps the plain table.
    if schema_editor.connection.vendor == "postgresql":
        for statement in CONVERT_SQL + COPY_SQL:
            schema_editor.execute(statement)
        partitions_ensure()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_two_factor_email_change")]
    operations = [migrations.RunPython(partition, migrations.RunPython.noop)]
