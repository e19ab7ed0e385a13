"""Categories (document types): the built-in ones (models.Category) and each user's own (models.UserCategory).

A document stores a category's slug. A user's own slug is made from its name when it is added, never equals a
built-in slug or another of theirs, and never changes: renaming changes the name shown, not what documents
store. Deleting one moves its documents to "other".
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from strongbox.documents import cache
from strongbox.documents.models import Category, Document, UserCategory

MAX_NAME_LENGTH = 40
MAX_SLUG_LENGTH = 20  # Document.category's length
MAX_CATEGORIES = 100
NAME_CONSTRAINT = "documents_usercategory_owner_name_ci"
BUILT_IN = dict(Category.choices)
_BUILT_IN_NAMES = {label.lower() for label in BUILT_IN.values()} | set(BUILT_IN)


class CategoryInvalid(ValidationError):
    """The name is not one a category can have; the message says why (code: the reason)."""


@dataclass(frozen=True)
class CategoryChoice:
    slug: str
    name: str
    built_in: bool


def categories_for_user(user) -> list[CategoryChoice]:
    """Return the user's own categories, by name (cached until their documents or categories change)."""

    def compute() -> list[CategoryChoice]:
        rows = UserCategory.objects.filter(owner_id=user.pk).order_by(Lower("name")).values_list("slug", "name")
        return [CategoryChoice(slug, name, False) for slug, name in rows]

    return cache.cached(user.pk, "categories", compute)


def all_categories(user) -> list[CategoryChoice]:
    """Return the built-in categories, then the user's own."""
    return [*(CategoryChoice(slug, name, True) for slug, name in BUILT_IN.items()), *categories_for_user(user)]


def category_choices(user) -> list[tuple[str, str]]:
    """(slug, name) pairs for a form's select: the built-in categories and the user's own."""
    return [(choice.slug, choice.name) for choice in all_categories(user)]


def is_category(user, slug: str) -> bool:
    """Return whether a document of `user` may have this category (a built-in one without a cache call)."""
    return slug in BUILT_IN or any(choice.slug == slug for choice in categories_for_user(user))


def category_names(user) -> dict[str, str]:
    """Return the name of every category the user may use, by slug."""
    return {choice.slug: choice.name for choice in all_categories(user)}


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise CategoryInvalid("Enter a name.", code="required")
    if len(name) > MAX_NAME_LENGTH:
        raise CategoryInvalid(f"Use at most {MAX_NAME_LENGTH} characters.", code="too_long")
    if "\x00" in name:
        raise CategoryInvalid("Null characters are not allowed.", code="invalid")
    if name.lower() in _BUILT_IN_NAMES:
        raise CategoryInvalid(f"“{name}” is a built-in category already.", code="built_in")
    return name


def _name_taken(owner, name: str, exclude: int | None = None) -> bool:
    same = UserCategory.objects.filter(owner_id=owner.pk, name__iexact=name)
    return same.exclude(pk=exclude).exists() if exclude else same.exists()


def _taken_error(name: str) -> CategoryInvalid:
    return CategoryInvalid(f"You already have a category named “{name}”.", code="name_taken")


def _free_slug(owner, name: str) -> str:
    """Return a slug for a new category of `owner`: from its name, not a built-in or existing one."""
    base = slugify(name, allow_unicode=True)[:MAX_SLUG_LENGTH].strip("-_") or "category"
    taken = set(UserCategory.objects.filter(owner_id=owner.pk).values_list("slug", flat=True)) | set(BUILT_IN)
    slug, number = base, 1
    while slug in taken:
        number += 1
        suffix = f"-{number}"
        slug = f"{base[:MAX_SLUG_LENGTH - len(suffix)]}{suffix}"
    return slug


def category_create(*, owner, name: str) -> UserCategory:
    """Add a category of the owner's own; CategoryInvalid for an empty, too long, built-in or taken name."""
    name = _clean_name(name)
    if _name_taken(owner, name):
        raise _taken_error(name)
    if UserCategory.objects.filter(owner_id=owner.pk).count() >= MAX_CATEGORIES:
        raise CategoryInvalid(f"You can have at most {MAX_CATEGORIES} categories of your own.", code="too_many")
    try:
        with transaction.atomic():
            category = UserCategory.objects.create(owner=owner, name=name, slug=_free_slug(owner, name))
            cache.bump(owner.pk)
    except IntegrityError:  # a concurrent request took the name or the slug since we looked
        raise _taken_error(name) from None
    return category


def category_for_user(user, slug: str) -> UserCategory:
    """Return one of the user's own categories; UserCategory.DoesNotExist for a missing or someone else's one."""
    return UserCategory.objects.get(owner_id=user.pk, slug=slug)


def category_rename(*, category: UserCategory, name: str) -> UserCategory:
    """Give a category a new name; its slug, and so its documents, stay as they are."""
    name = _clean_name(name)
    if _name_taken(category.owner, name, exclude=category.pk):
        raise _taken_error(name)
    try:
        with transaction.atomic():
            UserCategory.objects.filter(pk=category.pk).update(name=name)
            cache.bump(category.owner_id)
    except IntegrityError:
        raise _taken_error(name) from None
    category.name = name
    return category


def category_delete(*, category: UserCategory) -> int:
    """Delete a category of the user's own, moving its documents (also those in any bin or tombstone) to "other"
    with their versions bumped, so clients holding their old ETag see the change; return how many moved."""
    with transaction.atomic():
        documents = Document.with_tombstones.filter(owner_id=category.owner_id, category=category.slug)
        # The users these documents are shared with see the new category too.
        readers = set(documents.filter(shares__isnull=False).values_list("shares__user_id", flat=True))
        moved = documents.update(category=Category.OTHER, version=F("version") + 1, updated_at=timezone.now())
        category.delete()
        for user_id in {category.owner_id, *readers}:
            cache.bump(user_id)
    return moved


def documents_in_category(user, slug: str) -> int:
    return Document.objects.filter(owner_id=user.pk, category=slug).count()
