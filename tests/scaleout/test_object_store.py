"""Files on the S3 server of the scale-out run (OpenStack Swift with s3api): stored there, streamed back without
being held in memory, ranges fetched as ranges, and optionally handed out as short-lived signed URLs."""

import gc
import tracemalloc

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from helpers import upload
from strongbox.documents.models import Document

pytestmark = [
    pytest.mark.skipif(not settings.SCALE_OUT_RUN, reason="runs in the scale-out run of the suite (make test)"),
    pytest.mark.django_db,
]
BIG = b"0123456789abcdef" * (768 * 1024)  # 12 MB


@pytest.fixture
def big(alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(alice_client, filename="big.txt", content=BIG, title="Big").status_code == 302
    return Document.objects.get(title="Big")


def test_uploads_are_objects_in_the_bucket(big, isolated_storage):
    from services import session

    key = f"{isolated_storage.location}/{big.file.name}"
    head = session.swift.client().head_object(Bucket=settings.STORAGES["default"]["OPTIONS"]["bucket_name"],
                                              Key=key)
    assert head["ContentLength"] == len(BIG)


def test_a_download_streams_from_the_store_without_holding_the_file(alice_client, big):
    url = reverse("documents:download", args=[big.public_id])
    alice_client.get(url, HTTP_RANGE="bytes=0-0")  # the client's first connection, made once per process
    gc.collect()
    tracemalloc.start()
    try:
        response = alice_client.get(url)
        received = sum(len(chunk) for chunk in response.streaming_content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and received == len(BIG)
    assert peak < 2 * 1024 * 1024, f"the download held {peak / 1024**2:.1f} MB at its peak"


def test_a_range_fetches_only_that_range(alice_client, big):
    response = alice_client.get(reverse("documents:download", args=[big.public_id]),
                                HTTP_RANGE=f"bytes={len(BIG) - 20}-")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == BIG[-20:]


def test_downloads_can_redirect_to_a_short_lived_signed_url(alice_client, bob_client, big, settings):
    settings.S3_PRESIGNED_DOWNLOADS = True
    url = reverse("documents:download", args=[big.public_id])
    assert bob_client.get(url).status_code == 404
    response = alice_client.get(url)
    assert response.status_code == 302 and "no-store" in response["Cache-Control"]
    signed = response["Location"]
    assert signed.startswith(settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]) and "Signature" in signed
    fetched = requests.get(signed, timeout=10)
    assert fetched.status_code == 200 and fetched.content == BIG
    assert fetched.headers["Content-Type"].startswith("text/plain")
    assert 'filename="big.txt"' in fetched.headers["Content-Disposition"]
    partial = requests.get(signed, headers={"Range": "bytes=0-9"}, timeout=10)
    assert partial.status_code == 206 and partial.content == BIG[:10]
    assert requests.get(signed.replace("Signature=", "Signature=0"), timeout=10).status_code == 403
