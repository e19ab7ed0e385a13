from django.contrib import admin

from strongbox.documents.models import Document, Tag


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "category", "size", "text_status", "created_at"]
    list_filter = ["category", "text_status"]
    search_fields = ["title", "owner__username"]
    readonly_fields = ["public_id", "file", "original_filename", "extension", "content_type", "size", "sha256",
                       "text_status", "text_error", "created_at", "updated_at"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "owner"]
    search_fields = ["name"]
