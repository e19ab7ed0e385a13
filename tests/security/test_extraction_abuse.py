"""CPU abuse through text extraction (issue 9, finding 8): a few KB of PDF once cost a minute of extractor CPU each,
and four of them kept every worker thread busy while everyone else's uploads waited.

Each hostile file below is 6 KB: 30 pages drawing one content stream that inflates to 100,000 text operators, about
40 s of pypdf CPU on this machine before the fix. Now an extraction may take EXTRACT_MIN_SECONDS (5 s) plus
EXTRACT_SECONDS_PER_MB, and one owner's extractions run one at a time however many threads the worker has.
"""

import secrets
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_pdf import shared_content_bomb  # noqa: E402

pytestmark = pytest.mark.security
HOSTILE = shared_content_bomb(pages=30, operators=100_000)
# One extraction slot: the per-file floor (EXTRACT_MIN_SECONDS, 5 s) and the child's start-up, on a busy machine.
ONE_SLOT = 15


def post_upload(server, session, filename: str, content: bytes, title: str) -> None:
    """Upload as the form does, without waiting for the worker (server.upload waits for every job)."""
    data = {"csrfmiddlewaretoken": server.csrf(session, "/documents/upload/"), "title": title,
            "category": "other", "description": "", "tags": ""}
    response = session.post(server.url + "/documents/upload/", data=data, files={"file": (filename, content)},
                            allow_redirects=False)
    assert response.status_code == 302, response.text[:300]


def text_status(server, title: str) -> tuple[str, str]:
    return server.query("SELECT text_status, text_error FROM documents_document WHERE title = ?", (title,))[0]


def wait_for_text(server, title: str, seconds: float) -> tuple[str, str, float]:
    """Return the document's text status and error once it is no longer pending, and how long that took."""
    started = time.monotonic()
    while (status := text_status(server, title))[0] == "pending":
        assert time.monotonic() - started < seconds, f"“{title}” was still waiting for its text after {seconds} s"
        time.sleep(0.1)
    return *status, time.monotonic() - started


@pytest.fixture
def settle(server):
    """Leave no extraction running for the next test (bounded: before the fix this could take minutes)."""
    yield
    deadline = time.monotonic() + 60
    while server.count("ops_job") and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_tiny_hostile_pdf_is_stopped_within_a_limit_scaled_to_its_size(server, settle):
    alice = server.signed_in("alice")
    title = f"bomb {secrets.token_hex(4)}"
    post_upload(server, alice, "bomb.pdf", HOSTILE, title)
    status, error, seconds = wait_for_text(server, title, ONE_SLOT)
    assert (status, error) == ("failed", "timed out")
    assert seconds < ONE_SLOT


def test_one_users_hostile_pdfs_do_not_hold_up_another_users_document(server, settle):
    alice, bob = server.signed_in("alice"), server.signed_in("bob")
    marker = secrets.token_hex(4)
    bombs = [f"bomb {marker} {index}" for index in range(4)]
    for title in bombs:
        post_upload(server, alice, "bomb.pdf", HOSTILE, title)
    post_upload(server, bob, "notes.txt", b"quarterly figures\n", f"notes {marker}")
    status, _, seconds = wait_for_text(server, f"notes {marker}", ONE_SLOT)
    assert status == "ready" and seconds < ONE_SLOT
    # Alice's files still all end, one after another, each within its own limit.
    for title in bombs:
        assert wait_for_text(server, title, 2 * ONE_SLOT)[:2] == ("failed", "timed out")
