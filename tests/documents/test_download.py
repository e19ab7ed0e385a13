import pytest
from django.urls import reverse

from samples import SAMPLES

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("extension", sorted(SAMPLES))
def test_it_returns_the_exact_bytes_with_the_stored_type(alice_client, uploaded, extension):
    document = uploaded(extension)
    response = alice_client.get(reverse("documents:download", args=[document.public_id]))
    assert response.status_code == 200
    assert body(response) == SAMPLES[extension][1]
    assert response["Content-Type"] == document.content_type
    assert response["Content-Length"] == str(document.size)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}
    assert response["ETag"] == f'"{document.sha256}"'


@pytest.mark.parametrize(("extension", "disposition"), [("pdf", "inline"), ("png", "inline"),
                                                        ("docx", "attachment"), ("csv", "attachment"),
                                                        ("md", "attachment")])
def test_it_shows_only_safe_types_inline(alice_client, uploaded, extension, disposition):
    document = uploaded(extension)
    response = alice_client.get(reverse("documents:download", args=[document.public_id]))
    assert response["Content-Disposition"].startswith(disposition)


def test_it_encodes_unusual_filenames_per_rfc_6266(alice_client, uploaded):
    document = uploaded("txt")
    document.original_filename = 'Résumé "final"; x.txt'
    document.save()
    response = alice_client.get(reverse("documents:download", args=[document.public_id]))
    header = response["Content-Disposition"]
    assert "filename*=utf-8''R%C3%A9sum%C3%A9%20%22final%22%3B%20x.txt" in header
    assert "\n" not in header and "\r" not in header


def test_it_answers_304_to_a_matching_etag(alice_client, uploaded):
    document = uploaded("txt")
    url = reverse("documents:download", args=[document.public_id])
    response = alice_client.get(url, headers={"If-None-Match": f'"{document.sha256}"'})
    assert response.status_code == 304
    assert "private" in response["Cache-Control"]


def test_it_refuses_state_changing_methods(alice_client, uploaded):
    document = uploaded("txt")
    assert alice_client.post(reverse("documents:download", args=[document.public_id])).status_code == 405


@pytest.mark.parametrize(("extension", "sandboxed"), [("png", True), ("txt", True), ("docx", True), ("pdf", False)])
def test_files_get_a_csp_that_loads_and_runs_nothing(alice_client, uploaded, extension, sandboxed):
    document = uploaded(extension)
    csp = alice_client.get(reverse("documents:download", args=[document.public_id]))["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'") and "script-src" not in csp
    assert csp.endswith("; sandbox") is sandboxed
