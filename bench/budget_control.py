"""The Django side of bench/budget.py, run as a child process with the server's own environment and PYTHONPATH
(so the same code works for the checkout under test and for a `--compare` revision): it builds the corpus and
the user, and bumps the user's documents version between measurements so cached values start cold.

Reads one JSON command per line on stdin, answers one JSON line on stdout:
    {"op": "setup", "count": 10000}  -> {"user_id", "api_key", "public_ids": [...], "seconds"}
    {"op": "bump"}                   -> {"ok": true}
    {"op": "quit"}
"""

import json
import sys
import time

USERNAME, PASSWORD = "bench", "correct horse battery staple"  # noqa: S105 - a throwaway account on loopback
SAMPLE_IDS = 3000  # documents whose pages the detail scenarios cycle through


def _index_many_fallback() -> None:
    """Revisions before the bulk corpus loader index one entry at a time: give their backend `index_many`."""
    from strongbox.documents.search import get_backend

    backend = type(get_backend())
    if not hasattr(backend, "index_many"):
        backend.index_many = lambda self, entries: [self.index(entry) for entry in entries]


def setup(count: int) -> dict:
    import corpus
    from django.core.management import call_command

    from strongbox.accounts.models import User
    from strongbox.accounts.services import api_key_create, user_create
    from strongbox.documents.models import Document

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = user_create(username=USERNAME, email=f"{USERNAME}@example.com", password=PASSWORD)
        _index_many_fallback()
        corpus.load(user, count)
    _, key = api_key_create(user=user, name=f"bench {time.time_ns()}", scope="write")
    ids = Document.objects.filter(owner=user).order_by("id").values_list("public_id", flat=True)
    step = max(1, count // SAMPLE_IDS)
    public_ids = list(ids[::step])[:SAMPLE_IDS]
    return {"user_id": user.pk, "api_key": key, "public_ids": public_ids, "count": Document.objects.filter(
        owner=user).count(), "seconds": round(time.monotonic() - started, 1)}


def bump(user_id: int) -> dict:
    from strongbox.documents import cache

    cache.bump(user_id)
    return {"ok": True}


def main() -> None:
    import django

    django.setup()
    user_id = None
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "quit":
            break
        try:
            if command["op"] == "setup":
                answer = setup(command["count"])
                user_id = answer["user_id"]
            elif command["op"] == "bump":
                answer = bump(user_id)
            else:
                answer = {"error": f"unknown op {command['op']!r}"}
        except Exception as error:  # noqa: BLE001 - the parent prints it and stops the run
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
