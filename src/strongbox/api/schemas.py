"""Input and output shapes of the API. Inputs forbid unknown fields, so read-only ones cannot be smuggled in."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictInt, field_validator

from strongbox.documents.models import Category

# Strict: pydantic would otherwise read true as 1. Bounded: the database's integers are 64-bit.
NotificationId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
CategoryName = Literal[tuple(Category.values)]  # type: ignore[valid-type]
CATEGORY_HELP = (f"One of the built-in categories ({', '.join(Category.values)}) or the slug of one of your own "
                 "categories: GET /api/v1/categories.")
# A built-in category or one of the caller's own: the form behind every write checks which (documents/forms.py).
CategorySlug = Annotated[str, Field(min_length=1, max_length=20, description=CATEGORY_HELP)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class DocumentOut(Schema):
    id: str
    title: str
    description: str
    category: str
    tags: list[str]
    filename: str
    content_type: str
    size: int
    sha256: str
    text_status: Literal["pending", "ready", "failed"]
    text_error: str
    version: int
    created_at: datetime
    updated_at: datetime
    content_url: str
    owner: str = Field(description="The username of the document's owner.")
    shared: bool = Field(description="Whether the document is someone else's, shared with you.")
    text_source: Literal["layer", "ocr", "none"] = Field(
        description="Where the searchable text came from: the file's text layer, OCR, or none.")
    preview_status: Literal["none", "pending", "ready", "failed"]
    page_count: int | None = Field(description="The file's number of pages, when known.")
    thumbnail_url: str | None = Field(description="The thumbnail (WebP); null until a preview is ready.")
    preview_page_urls: list[str] = Field(description="The page images (WebP), empty until a preview is ready.")


class DocumentPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[DocumentOut]


class DocumentPatch(Strict):
    title: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    category: CategorySlug | None = None
    tags: list[str] | None = Field(None, max_length=20)

    @field_validator("tags")
    @classmethod
    def tags_have_no_commas(cls, tags: list[str] | None) -> list[str] | None:
        if tags and any("," in tag for tag in tags):
            raise ValueError("tags cannot contain commas")
        return tags


class Suggestion(Schema):
    id: str
    title: str


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    document_id: str | None
    created_at: datetime
    read: bool


class UnreadCount(Schema):
    unread: int


class MarkRead(Strict):
    ids: list[NotificationId] | None = Field(None, max_length=1000)


class MarkedRead(Schema):
    marked: int


class Me(Schema):
    username: str
    email: str
    date_joined: datetime


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "write"]
    expires_at: datetime | None = None


class KeyOut(Schema):
    id: str
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class KeyCreated(KeyOut):
    key: str


class Problem(Schema):
    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[dict] | None = None


class TrashedDocumentOut(DocumentOut):
    trashed_at: datetime
    purge_at: datetime


class TrashPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[TrashedDocumentOut]


class Purged(Schema):
    purged: int


class VersionOut(Schema):
    number: int
    current: bool
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    uploaded_by: str | None
    restored_from: int | None
    content_url: str


class ShareLinkOut(Schema):
    id: int
    created_at: datetime
    expires_at: datetime
    has_password: bool
    download_count: int


class ShareLinkCreated(ShareLinkOut):
    url: str = Field(description="The link itself: shown only in this answer (only a hash of it is stored).")


class ShareLinkIn(Strict):
    expires_days: StrictInt = Field(description="How many days the link is valid: one of the choices the share "
                                                "dialog offers (1, 7, 30, up to STRONGBOX_SHARE_LINK_MAX_DAYS).")
    password: str | None = Field(None, max_length=128, description="Optional: whoever opens the link must type it.")


# Public ids are URL-safe base64; the pattern also keeps null characters (refused by PostgreSQL) out.
PublicId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class BulkIn(Strict):
    action: Literal["tag", "untag", "category", "trash"]
    ids: list[PublicId] = Field(description="Public ids of your documents (others' and missing ones are ignored); "
                                            "at most 1,000.")
    tag: str | None = Field(None, max_length=200, description="For tag and untag.")
    category: str | None = Field(None, max_length=50, description="For category: " + CATEGORY_HELP)


class BulkOut(Schema):
    changed: int = Field(description="How many documents the action changed.")


class ShareOut(Schema):
    id: int
    user: str = Field(description="The username of the user it is shared with.")
    permission: Literal["read", "edit"]
    created_at: datetime


class ShareIn(Strict):
    recipient: str = Field(min_length=1, max_length=254, description="Their username or e-mail address.")
    permission: Literal["read", "edit"] = "read"
