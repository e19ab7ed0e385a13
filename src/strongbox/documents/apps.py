from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "strongbox.documents"
    label = "documents"
