import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def new_public_id() -> str:
    """Return a random, unguessable id for URLs (128 bits)."""
    return secrets.token_urlsafe(16)


class Category(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    RECEIPT = "receipt", "Receipt"
    CONTRACT = "contract", "Contract"
    LETTER = "letter", "Letter"
    REPORT = "report", "Report"
    MANUAL = "manual", "Manual"
    PERSONAL = "personal", "Personal"
    OTHER = "other", "Other"


class TextStatus(models.TextChoices):
    PENDING = "pending", "Indexing"
    READY = "ready", "Indexed"
    FAILED = "failed", "Could not read text"


class TextSource(models.TextChoices):
    """Where a document's text came from (strongbox.documents.extract.LAYER/OCR/NONE)."""

    LAYER = "layer", "Text layer"
    OCR = "ocr", "OCR"
    NONE = "none", "No text"


class PreviewStatus(models.TextChoices):
    NONE = "none", "No preview yet"  # documents from before previews, until the periodic job queues them
    PENDING = "pending", "Preparing preview"
    READY = "ready", "Preview ready"
    FAILED = "failed", "No preview"


class Tag(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("owner", Lower("name"), name="documents_tag_owner_name_ci")]

    def __str__(self):
        return self.name


class LiveDocuments(models.Manager):
    """Documents that are neither deleted nor in the trash: what every query of the application sees."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True, trashed_at__isnull=True)


class TrashedDocuments(models.Manager):
    """Documents in the trash (not yet deleted for good): what the trash page and its endpoints see."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True, trashed_at__isnull=False)


class Document(models.Model):
    """A stored file and its metadata.

    Deleting leaves a tombstone for TOMBSTONE_DAYS (deleted_at set, version bumped, file, text, tags and index
    entry gone at once), purged later: with several primaries, an update that meets a tombstone is a version
    conflict instead of bringing the document back (docs/architecture.md, "Multi-primary readiness").
    """

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=100)
    description = models.TextField(max_length=2000, blank=True)
    # A built-in Category or the slug of one of the owner's UserCategory rows (documents/categories.py).
    category = models.CharField(max_length=20, default=Category.OTHER)
    tags = models.ManyToManyField(Tag, blank=True, related_name="documents")
    file = models.FileField(max_length=200)
    original_filename = models.CharField(max_length=255)
    extension = models.CharField(max_length=10)
    content_type = models.CharField(max_length=120)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    text_status = models.CharField(max_length=10, choices=TextStatus.choices, default=TextStatus.PENDING)
    text_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped by every change to the editable fields: the API's ETag, checked by If-Match against lost updates.
    version = models.PositiveIntegerField(default=1)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set while the document is in the trash (docs/trash-and-versions.md); purged TRASH_DAYS after.
    trashed_at = models.DateTimeField(null=True, blank=True, editable=False)
    text_source = models.CharField(max_length=5, choices=TextSource.choices, default=TextSource.NONE)
    # Previews (documents/previews.py): stored beside the file under names made of its blob name and preview_key,
    # a new random key for each rendering; preview_pages page images (PDF pages, or the scaled image).
    preview_status = models.CharField(max_length=10, choices=PreviewStatus.choices, default=PreviewStatus.NONE)
    preview_key = models.CharField(max_length=16, blank=True)
    preview_pages = models.PositiveIntegerField(default=0)
    preview_error = models.CharField(max_length=200, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)

    objects = LiveDocuments()
    in_trash = TrashedDocuments()
    with_tombstones = models.Manager()

    class Meta:
        # A trashed document's title is free for a new upload; restoring it finds a free title (services.py).
        constraints = [models.UniqueConstraint("owner", Lower("title"),
                                               condition=models.Q(deleted_at__isnull=True, trashed_at__isnull=True),
                                               name="documents_document_owner_title_ci")]
        base_manager_name = "with_tombstones"
        indexes = [
            models.Index(fields=["owner", "created_at"]),
            models.Index(fields=["owner", "title"]),
            models.Index(fields=["owner", "size"]),
            models.Index(fields=["owner", "category", "created_at"]),
        ]

    def __str__(self):
        return self.title

    @property
    def category_label(self) -> str:
        """The category's name: a built-in one's, or a user's own when a selector set `category_name`."""
        if self.category in Category.values:
            return Category(self.category).label
        return getattr(self, "category_name", "") or self.category


class DocumentVersion(models.Model):
    """One file a document has had, the current one included: the document row describes the current file (the
    version with the highest number), older rows stay downloadable and restorable until the document is purged.

    Restoring an old version makes a new version that refers to the same stored file (blobs are never changed,
    and they are deleted only when the whole document is purged), so the history is kept."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(max_length=200)
    original_filename = models.CharField(max_length=255)
    extension = models.CharField(max_length=10)
    content_type = models.CharField(max_length=120)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    # The number of the version this one was restored from (None: uploaded).
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint("document", "number", name="documents_version_document_number")]
        indexes = [models.Index(fields=["file"])]

    def __str__(self):
        return f"{self.document_id} v{self.number}"


class DocumentText(models.Model):
    """The text extracted from a document's file, kept apart so lists and counts never read it."""

    document = models.OneToOneField(Document, on_delete=models.CASCADE, primary_key=True, related_name="text")
    body = models.TextField()


class Notification(models.Model):
    """A message for a user about background work on their documents."""

    class Kind(models.TextChoices):
        TEXT_READY = "text_ready", "Text extracted"
        TEXT_FAILED = "text_failed", "Text could not be read"
        QUOTA_WARNING = "quota_warning", "Storage nearly full"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.CharField(max_length=300)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="notifications")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The results of a batch of uploads are one notification (notification_groups.py): how many documents it is
    # about, and when the last of them joined it (the list's order, so a growing group stays on top).
    count = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "created_at"]),
                   models.Index(fields=["user", "updated_at"], name="documents_notification_recent")]


class UserCategory(models.Model):
    """A category (document type) a user added beside the built-in ones. Documents store its slug, which never
    changes (renaming changes the name only) and never equals a built-in one (documents/categories.py)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=40)
    slug = models.CharField(max_length=20)  # Document.category's length
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("owner", Lower("name"), name="documents_usercategory_owner_name_ci"),
            models.UniqueConstraint(fields=["owner", "slug"], name="documents_usercategory_owner_slug"),
        ]

    def __str__(self):
        return self.name


class SavedView(models.Model):
    """A named search of the list page: its validated filters and sort (ListFilterForm's fields, empty ones left
    out), opened again from the sidebar."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    filters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("owner", Lower("name"), name="documents_savedview_owner_name_ci")]

    def __str__(self):
        return self.name


class Note(models.Model):
    """A timestamped comment on a document; its text is part of the document's search index entry."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes")
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["document", "created_at"])]
