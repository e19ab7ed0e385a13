from django.contrib import admin, messages

from strongbox.documents import services
from strongbox.documents.models import Document, Tag
from strongbox.lib.admin import ReadOnlyAdmin


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Documents are read-only here: an edit around the services would skip the version, the search index and the
    cache. Deleting goes through services.document_trash, as the owner's own delete does: the document moves to
    their trash (restorable for TRASH_DAYS), leaves the index and is audited as done by the staff member."""

    list_display = ["title", "owner", "category", "size", "text_status", "created_at"]
    list_filter = ["category", "text_status"]
    list_select_related = ["owner"]
    search_fields = ["title", "owner__username"]

    def has_add_permission(self, request):
        return False  # documents come from uploads, which check the file

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        try:
            services.document_trash(document=obj, actor=request.user)
        except services.DocumentGone:
            pass  # trashed or deleted meanwhile: what the staff member asked for has happened

    def delete_queryset(self, request, queryset):
        gone = 0
        for document in queryset.select_related("owner"):
            try:
                services.document_trash(document=document, actor=request.user)
            except services.DocumentGone:
                gone += 1
        if gone:
            self.message_user(request, f"{gone} of them had been moved to the trash or deleted meanwhile.",
                              messages.INFO)


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    """Read-only: renaming or deleting a tag changes the search entries of its documents, which only the document
    services keep in step."""

    list_display = ["name", "owner"]
    search_fields = ["name"]
