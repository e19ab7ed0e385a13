"""The caller's account and, for browser sessions only, their API keys."""

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from strongbox.accounts import reauth, selectors, services
from strongbox.accounts.models import ApiKey
from strongbox.api.auth import RejectApiKeys, SessionAuth
from strongbox.api.errors import ApiError
from strongbox.api.schemas import KeyCreate, KeyCreated, KeyOut, Me, Problem

router = Router(tags=["account"])
keys = Router(tags=["keys"], auth=[SessionAuth(), RejectApiKeys()])
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 429: Problem}


@router.get("/me", response={200: Me, **ERRORS}, url_name="me")
def me(request: HttpRequest):
    """Who you are signed in as."""
    return request.user


def key_out(api_key: ApiKey) -> dict:
    return {"id": api_key.public_id, "name": api_key.name, "prefix": api_key.prefix, "scope": api_key.scope,
            "created_at": api_key.created_at, "expires_at": api_key.expires_at,
            "last_used_at": api_key.last_used_at, "revoked": api_key.revoked_at is not None}


@keys.get("/keys", response={200: list[KeyOut], **ERRORS}, url_name="keys")
def list_keys(request: HttpRequest):
    """Your API keys (only their prefixes; a key is shown once, when created)."""
    return [key_out(api_key) for api_key in selectors.api_keys_for_user(request.user)]


@keys.post("/keys", response={201: KeyCreated, **ERRORS}, url_name="key_create")
def create_key(request: HttpRequest, body: KeyCreate):
    """Create a key. The response is the only time the full key is shown: store it now. Needs the password typed
    recently (at sign-in or on the confirmation page), as the keys page does."""
    if not reauth.is_recent(request):
        raise ApiError(403, "reauthentication_required",
                       f"Creating an API key needs your password typed within the last {reauth.max_age() // 60} "
                       f"minutes: confirm it at {reverse('accounts:reauth')} (or sign in again), then retry.")
    try:
        api_key, key = services.api_key_create(user=request.user, name=body.name, scope=body.scope,
                                               expires_at=body.expires_at)
    except services.ExpiryPassed:
        raise ApiError(400, "invalid_request", "expires_at must be in the future.",
                       errors=[{"field": "expires_at", "message": "must be in the future"}]) from None
    return Status(201, {**key_out(api_key), "key": key})


@keys.delete("/keys/{key_id}", response={204: None, **ERRORS}, url_name="key_revoke")
def revoke_key(request: HttpRequest, key_id: str):
    """Revoke a key at once."""
    api_key = selectors.api_key_for_user(request.user, key_id)
    services.api_key_revoke(api_key=api_key, actor=request.user)
    return Status(204, None)
