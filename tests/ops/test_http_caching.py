"""HTTP caching, chosen per response: user pages are never stored, and the API schema is cached for everyone
and per release. (ETags on JSON answers: tests/api/test_conditional_get.py.)"""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/documents/", "/accounts/", "/api/v1/me"])
def test_user_data_is_private_and_never_stored(alice_client, path):
    response = alice_client.get(path)
    assert response.status_code == 200
    assert {part.strip() for part in response["Cache-Control"].split(",")} >= {"private", "no-store"}


def test_the_sign_in_page_with_its_csrf_token_is_not_stored_either(anonymous_client):
    assert "no-store" in anonymous_client.get(reverse("accounts:login"))["Cache-Control"]


def test_the_api_schema_is_cached_for_everyone_until_the_release_changes(client, monkeypatch, anonymous_client):
    first = client.get("/api/v1/openapi.json")
    assert first.status_code == 200 and "max-age=3600" in first["Cache-Control"]
    calls = []
    # The view behind the cache must not run again.
    monkeypatch.setattr("strongbox.api.openapi_json", lambda *args, **kwargs: calls.append(1))
    second = anonymous_client.get("/api/v1/openapi.json")
    assert second.content == first.content and calls == []
