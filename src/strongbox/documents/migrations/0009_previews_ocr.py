"""Previews (their state, key and page count) and where a document's text came from (text layer, OCR, none).

Documents indexed before have text from their own layer when they have any; their previews are queued by the
periodic job (documents/tasks.py, queue_missing_previews)."""

from django.db import migrations, models


def text_sources(apps, schema_editor):
    Document = apps.get_model("documents", "Document")
    DocumentText = apps.get_model("documents", "DocumentText")
    with_text = DocumentText.objects.exclude(body="").values("document_id")
    Document._base_manager.filter(text_status="ready", id__in=with_text).update(text_source="layer")


class Migration(migrations.Migration):

    dependencies = [
        ("documents", "0008_trash_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="text_source",
            field=models.CharField(choices=[("layer", "Text layer"), ("ocr", "OCR"), ("none", "No text")],
                                   default="none", max_length=5),
        ),
        migrations.AddField(
            model_name="document",
            name="preview_status",
            field=models.CharField(choices=[("none", "No preview yet"), ("pending", "Preparing preview"),
                                            ("ready", "Preview ready"), ("failed", "No preview")],
                                   default="none", max_length=10),
        ),
        migrations.AddField(model_name="document", name="preview_key",
                            field=models.CharField(blank=True, max_length=16)),
        migrations.AddField(model_name="document", name="preview_pages",
                            field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="document", name="preview_error",
                            field=models.CharField(blank=True, max_length=200)),
        migrations.AddField(model_name="document", name="page_count",
                            field=models.PositiveIntegerField(blank=True, null=True)),
        migrations.RunPython(text_sources, migrations.RunPython.noop),
    ]
