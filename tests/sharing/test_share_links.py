"""Share links: made and revoked by the owner, opened by anyone who has one, with an expiry, an optional password,
a download count and an audit record of each step."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from strongbox.accounts.models import AuditEvent
from strongbox.documents.models import Document, PreviewStatus
from strongbox.sharing import services
from strongbox.sharing.models import ShareLink

pytestmark = pytest.mark.django_db
Kind = AuditEvent.Kind


def create(client, document, expires: str = "7", password: str = ""):
    return client.post(reverse("sharing:link_create", args=[document.public_id]),
                       {"expires": expires, "password": password})


def new_link(client, document, **fields) -> str:
    """Create a link through the dialog and return its path, as the dialog shows it (once)."""
    assert create(client, document, **fields).status_code == 302
    page = client.get(reverse("sharing:page", args=[document.public_id])).content.decode()
    found = re.search(r'id="new-link-url"', page) and re.search(r'value="http://testserver(/s/[^"]+/)"', page)
    assert found, page
    return found.group(1)


@pytest.fixture
def document(uploaded):
    return uploaded("txt", title="Field notes")


def test_it_creates_a_link_shown_once_and_stores_only_its_hash(document, alice_client):
    path = new_link(alice_client, document)
    token = path.split("/")[2]
    assert len(token) >= 43
    link = ShareLink.objects.get()
    assert link.token_hash == services.token_hash(token) and token not in link.token_hash
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    again = alice_client.get(reverse("sharing:page", args=[document.public_id])).content.decode()
    assert token not in again and "0 downloads" in again
    assert AuditEvent.objects.filter(kind=Kind.LINK_CREATED).exists()


def test_the_page_shows_the_document_and_nothing_of_the_account(document, alice_client, uploaded):
    uploaded("txt", title="Another private one")
    path = new_link(alice_client, document)
    response = Client().get(path)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Field notes" in page and "TXT" in page and "quokka" in page and "Download" in page
    assert "alice" not in page and "Another private one" not in page and "Sign out" not in page
    assert "Documents</a>" not in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(kind=Kind.LINK_OPENED).count() == 1


def test_it_downloads_through_the_link_and_counts_each_download(document, alice_client):
    path = new_link(alice_client, document)
    anonymous = Client()
    for _ in range(2):
        response = anonymous.get(path + "download/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"A quokka smiles at the camera.\n"
        assert response["Referrer-Policy"] == "no-referrer"
    ShareLink.objects.get().refresh_from_db()
    assert ShareLink.objects.get().download_count == 2
    assert AuditEvent.objects.filter(kind=Kind.LINK_DOWNLOADED).count() == 2
    assert "2 downloads" in alice_client.get(reverse("sharing:page", args=[document.public_id])).content.decode()


def test_ranges_are_served_and_a_download_counts_once(document, alice_client):
    path = new_link(alice_client, document)
    first = Client().get(path + "download/", HTTP_RANGE="bytes=0-4")
    rest = Client().get(path + "download/", HTTP_RANGE="bytes=5-")
    assert first.status_code == rest.status_code == 206
    assert b"".join(first.streaming_content) + b"".join(rest.streaming_content) == b"A quokka smiles at the camera.\n"
    assert ShareLink.objects.get().download_count == 1


@pytest.mark.parametrize("make_dead", ["expired", "revoked", "deleted"])
def test_expired_revoked_and_deleted_links_answer_like_an_unknown_one(document, alice_client, make_dead,
                                                                      django_capture_on_commit_callbacks):
    path = new_link(alice_client, document)
    link = ShareLink.objects.get()
    if make_dead == "expired":
        ShareLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif make_dead == "revoked":
        revoke = reverse("sharing:link_revoke", args=[document.public_id, link.pk])
        assert "Revoke" in alice_client.get(revoke).content.decode() and ShareLink.objects.get().revoked_at is None
        assert alice_client.post(revoke).status_code == 302
        assert AuditEvent.objects.filter(kind=Kind.LINK_REVOKED).exists()
    else:
        with django_capture_on_commit_callbacks(execute=True):
            alice_client.post(reverse("documents:delete", args=[document.public_id]))
    unknown = Client().get("/s/" + "x" * 43 + "/")
    for response in (Client().get(path), Client().get(path + "download/")):
        assert response.status_code == unknown.status_code == 404
        assert response.content == unknown.content
        assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_password_is_asked_once_per_session_and_link(document, alice_client):
    path = new_link(alice_client, document, password="open sesame")
    assert ShareLink.objects.get().password.startswith("argon2")
    other = new_link(alice_client, document, password="other secret")
    visitor = Client()
    asked = visitor.get(path)
    assert asked.status_code == 200 and "protected by a password" in asked.content.decode()
    assert "quokka" not in asked.content.decode()
    assert visitor.get(path + "download/").status_code == 404
    wrong = visitor.post(path, {"password": "guess"})
    assert wrong.status_code == 400 and "not the link" in wrong.content.decode()
    assert AuditEvent.objects.filter(kind=Kind.LINK_PASSWORD_FAILED).count() == 1
    assert visitor.post(path, {"password": "open sesame"}).status_code == 302
    assert "quokka" in visitor.get(path).content.decode()
    assert visitor.get(path + "download/").status_code == 200
    # The other link of the same document asks for its own password.
    assert "protected by a password" in visitor.get(other).content.decode()
    assert "protected by a password" in Client().get(path).content.decode()


def test_password_attempts_are_limited_per_link(document, alice_client, settings):
    settings.SHARE_LINK_FAILURES_PER_LINK = 3
    path = new_link(alice_client, document, password="open sesame")
    statuses = [Client().post(path, {"password": f"guess {i}"}).status_code for i in range(3)]
    assert statuses == [400] * 3
    locked = Client().post(path, {"password": "open sesame"})  # even the right one, from another client
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.content.decode()
    assert AuditEvent.objects.filter(kind=Kind.LINK_PASSWORD_FAILED).count() == 3
    assert AuditEvent.objects.filter(kind=Kind.LINK_LOCKED).exists()


def test_password_attempts_are_limited_per_client_address_across_links(document, alice_client, settings):
    settings.SHARE_LINK_FAILURES_PER_ADDRESS = 2
    first = new_link(alice_client, document, password="one password")
    second = new_link(alice_client, document, password="two password")
    assert Client().post(first, {"password": "x"}).status_code == 400
    assert Client().post(second, {"password": "x"}).status_code == 400
    assert Client().post(second, {"password": "two password"}).status_code == 429


def test_a_right_password_gives_its_attempt_back(document, alice_client, settings):
    settings.SHARE_LINK_FAILURES_PER_LINK = 2
    path = new_link(alice_client, document, password="open sesame")
    for _ in range(4):
        assert Client().post(path, {"password": "open sesame"}).status_code == 302


@pytest.mark.parametrize(("expires", "message"), [("90", "Select a valid choice"), ("", "This field is required")])
def test_it_refuses_an_expiry_beyond_the_choices(document, alice_client, expires, message):
    response = create(alice_client, document, expires=expires)
    assert response.status_code == 400 and message in response.content.decode()
    assert not ShareLink.objects.exists()


def test_the_longest_expiry_is_the_configured_maximum(document, alice, settings):
    settings.SHARE_LINK_MAX_DAYS = 3
    from strongbox.sharing.forms import LinkForm, expiry_choices

    assert expiry_choices() == [("1", "1 day"), ("3", "3 days")]
    assert not LinkForm({"expires": "7"}).is_valid()
    with pytest.raises(services.ShareRefused):
        services.link_create(document=document, actor=alice, days=7)


def test_only_the_owner_makes_and_revokes_links(document, alice_client, bob, bob_client):
    services.share_create(document=document, actor=document.owner, recipient="bob", can_edit=True)
    assert create(bob_client, document).status_code == 403
    path = new_link(alice_client, document)
    link = ShareLink.objects.get()
    assert bob_client.post(reverse("sharing:link_revoke", args=[document.public_id, link.pk])).status_code == 403
    assert Client().get(path).status_code == 200


def test_an_outsider_gets_the_same_404_as_for_a_missing_document(document, alice_client, bob_client):
    new_link(alice_client, document)
    link = ShareLink.objects.get()
    for route, args in (("sharing:link_create", [document.public_id]),
                        ("sharing:link_revoke", [document.public_id, link.pk])):
        theirs = bob_client.post(reverse(route, args=args), {"expires": "7"})
        missing = bob_client.post(reverse(route, args=["AAAAAAAAAAAAAAAAAAAAAA", *args[1:]]), {"expires": "7"})
        assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert ShareLink.objects.get().revoked_at is None and ShareLink.objects.count() == 1


def test_anonymous_users_cannot_make_links(document, anonymous_client):
    response = create(anonymous_client, document)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize(("status", "says"), [(PreviewStatus.FAILED, "No preview of this file."),
                                             (PreviewStatus.PENDING, "The preview is being made")])
def test_a_document_without_text_or_preview_says_so(uploaded, alice_client, status, says):
    document = uploaded("pdf", title="Scan")
    Document.objects.filter(pk=document.pk).update(preview_status=status)
    path = new_link(alice_client, document)
    page = Client().get(path).content.decode()
    assert "data-share-preview" in page and says in page and "preview/" not in page
    assert Client().get(path + "preview/").status_code == 404


def test_the_page_shows_a_pdfs_first_page_through_the_link(uploaded, alice_client):
    document = uploaded("pdf", title="Scanned lease")
    assert Document.objects.get(pk=document.pk).preview_status == PreviewStatus.READY
    path = new_link(alice_client, document)
    visitor = Client()
    page = visitor.get(path).content.decode()
    assert f'src="{path}preview/?v=' in page
    image = visitor.get(path + "preview/")
    assert image.status_code == 200 and image["Content-Type"] == "image/webp"
    assert b"".join(image.streaming_content)[8:12] == b"WEBP"
    assert image["X-Robots-Tag"] == "noindex, nofollow" and image["Referrer-Policy"] == "no-referrer"
    assert visitor.get(path + "preview/", HTTP_IF_NONE_MATCH=image["ETag"]).status_code == 304
    ShareLink.objects.update(revoked_at=timezone.now())
    assert visitor.get(path + "preview/").status_code == 404


def test_a_password_link_shows_its_preview_only_once_unlocked(uploaded, alice_client):
    document = uploaded("pdf", title="Scanned deed")
    path = new_link(alice_client, document, password="correct horse battery")
    visitor = Client()
    assert visitor.get(path + "preview/").status_code == 404
    assert visitor.post(path, {"password": "correct horse battery"}).status_code == 302
    assert visitor.get(path + "preview/").status_code == 200
