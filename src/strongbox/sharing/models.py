"""Who else may see a document: users it is shared with (Share) and links to it for anyone holding them
(ShareLink). See docs/sharing.md."""

from django.conf import settings
from django.db import models

from strongbox.documents.models import Document


class Share(models.Model):
    """A document shared by its owner with another user, who may read it, or also edit its fields (`can_edit`)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares_received")
    can_edit = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["document", "user"], name="sharing_share_document_user")]
        # The recipient's side: "which documents are shared with me" is a range of this index.
        indexes = [models.Index(fields=["user", "document"])]


class ShareLink(models.Model):
    """A link that opens one document for whoever has it, until it expires or is revoked. Only the SHA-256 of
    its token is stored; the password, if any, as a Django password hash (Argon2)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    password = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def has_password(self) -> bool:
        return bool(self.password)
