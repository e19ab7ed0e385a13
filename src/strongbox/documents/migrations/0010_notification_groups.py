"""Notifications count the documents they are about (a batch's results are one notification) and are listed by
when they last changed."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("documents", "0009_previews_ocr"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="count",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="notification",
            name="updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        # Existing notifications last changed when they were made, not when this migration ran.
        migrations.RunSQL("UPDATE documents_notification SET updated_at = created_at", migrations.RunSQL.noop),
        migrations.AlterModelOptions(
            name="notification",
            options={"ordering": ["-updated_at", "-id"]},
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["user", "updated_at"], name="documents_notification_recent"),
        ),
    ]
