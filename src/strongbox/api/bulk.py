"""Bulk actions on many of the caller's documents: thin callers of documents/bulk.py (docs/bulk-work.md)."""

from django.http import HttpRequest
from ninja import Router

from strongbox.api.documents import ERRORS
from strongbox.api.errors import ApiError
from strongbox.api.schemas import BulkIn, BulkOut
from strongbox.documents import bulk, selectors

router = Router(tags=["documents"])


def _refuse_nulls(body: BulkIn) -> None:
    # PostgreSQL cannot store a null character; the list endpoint refuses them the same way.
    for field in ("tag", "category"):
        if "\x00" in (getattr(body, field) or ""):
            raise ApiError(400, "invalid_request", "Null characters are not allowed.",
                           errors=[{"field": field, "message": "contains a null character"}])


@router.post("/documents/bulk", response={200: BulkOut, **ERRORS}, url_name="documents_bulk")
def bulk_action(request: HttpRequest, body: BulkIn):
    """Tag, untag, change the category of, or move to the trash up to 1,000 of your documents at once. Only your
    own documents change: ids of documents shared with you, others' or missing ones are ignored. `changed`
    counts the documents the action changed (not those that already had the tag …)."""
    _refuse_nulls(body)
    public_ids = list(dict.fromkeys(body.ids))
    user = request.user
    try:
        if len(public_ids) > bulk.MAX_DOCUMENTS:
            raise bulk.TooManyDocuments(len(public_ids))
        ids = list(selectors.documents_for_user(user).filter(public_id__in=public_ids).values_list("id", flat=True))
        changed = bulk.documents_bulk_apply(owner=user, action=body.action, document_ids=ids, tag=body.tag or "",
                                            category=body.category or "", actor=user)
    except bulk.TooManyDocuments as error:
        raise ApiError(400, "too_many_documents", str(error)) from None
    except bulk.InvalidBulkInput as error:
        field = "category" if body.action == "category" else "tag"
        raise ApiError(400, "invalid_request", str(error), errors=[{"field": field, "message": str(error)}]) from None
    return {"changed": changed}
