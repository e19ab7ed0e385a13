import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_every_dependency(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    replicas = {alias: "ok" for alias in settings.DATABASES if alias.startswith("replica")}
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok", "cache": "ok",
                                                          "tasks": "ok", **replicas}}


def test_readyz_reports_a_broken_storage_with_503(client, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": blocker}}}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "unavailable"


def test_pages_carry_security_headers(alice_client):
    response = alice_client.get(reverse("documents:list"))
    csp = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
                      "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_not_found_pages_reveal_nothing(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Traceback" not in response.content and b"urlpatterns" not in response.content


def test_readyz_answers_503_while_the_server_drains(client, settings, tmp_path):
    settings.DRAIN_FILE = str(tmp_path / "draining")
    assert client.get("/readyz").status_code == 200  # named but not there: not draining
    (tmp_path / "draining").touch()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}
    assert client.get("/healthz").status_code == 200  # still alive: it finishes what it has
