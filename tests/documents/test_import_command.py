"""`strongbox import`: folder trees imported through the upload's checks, a summary, resumable after a kill."""

import io
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from processes import Installation
from samples import pdf_bytes
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db


def tree(root, files: dict[str, bytes]):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *map(str, args), stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue(), err.getvalue()


def test_it_imports_a_tree_recursively_with_titles_from_file_names(alice, tmp_path):
    root = tree(tmp_path / "in", {"Invoice.txt": b"first\n", "2026/Invoice.TXT": b"second\n",
                                  "2026/q1/bank_statement.pdf": pdf_bytes("Bank statement"),
                                  ".hidden/secret.txt": b"hidden\n", ".DS_Store": b"junk"})
    status, out, err = run(root, "--user", "alice", "--tag", "scans", "--tag", "2026", "--category", "letter")
    assert status == 0, out + err
    documents = sorted(Document.objects.filter(owner=alice), key=lambda d: d.title.lower())
    assert [d.title for d in documents] == ["bank statement", "Invoice", "Invoice (2)"]
    assert all(d.category == "letter" and sorted(t.name for t in d.tags.all()) == ["2026", "scans"]
               for d in documents)
    assert "Imported: 3" in out and "Skipped, already uploaded: 0" in out and "Refused: 0" in out
    assert err.count("imported:") == 3  # not a terminal: a line per file


def test_it_skips_files_the_user_already_has_and_refuses_what_an_upload_would(alice, tmp_path, settings):
    settings.MAX_UPLOAD_SIZE = 1000
    root = tree(tmp_path / "in", {"a.txt": b"same\n", "b/copy.txt": b"same\n", "tool.exe": b"MZ",
                                  "big.txt": b"x" * 2000, "empty.txt": b"", "fake.pdf": b"not a pdf"})
    status, out, _ = run(root, "--user", "alice")
    assert status == 1
    assert list(Document.objects.values_list("title", flat=True)) == ["a"]
    assert "Imported: 1" in out and "Skipped, already uploaded: 1" in out and "Refused: 4" in out
    assert f"{root / 'b/copy.txt'}: already uploaded as “a”" in out
    assert f"{root / 'tool.exe'}: Files ending in .exe are not accepted" in out
    assert f"{root / 'big.txt'}: larger than the" in out
    assert f"{root / 'empty.txt'}: The submitted file is empty." in out or f"{root / 'empty.txt'}: " in out
    assert f"{root / 'fake.pdf'}: " in out and "not a PDF" in out


def test_it_imports_only_what_is_missing_when_run_again(alice, tmp_path):
    root = tree(tmp_path / "in", {"a.txt": b"a\n", "b.txt": b"b\n"})
    assert run(root, "--user", "alice")[0] == 0
    (root / "c.txt").write_bytes(b"c\n")
    status, out, _ = run(root, "--user", "alice")
    assert status == 0 and "Imported: 1" in out and "Skipped, already uploaded: 2" in out
    assert sorted(Document.objects.values_list("title", flat=True)) == ["a", "b", "c"]


def test_it_stores_duplicates_when_asked(alice, tmp_path):
    root = tree(tmp_path / "in", {"a.txt": b"same\n", "b.txt": b"same\n"})
    assert run(root, "--user", "alice", "--allow-duplicates")[0] == 0
    assert Document.objects.count() == 2


def test_it_imports_single_files_and_keeps_others_users_apart(alice, bob, tmp_path):
    root = tree(tmp_path / "in", {"a.txt": b"a\n"})
    assert run(root / "a.txt", "--user", "bob")[0] == 0
    status, out, _ = run(root / "a.txt", root, "--user", "alice")  # named twice: imported once
    assert status == 0 and "Imported: 1" in out and "Skipped, already uploaded: 0" in out
    assert Document.objects.filter(owner=alice).count() == Document.objects.filter(owner=bob).count() == 1


@pytest.mark.parametrize(("args", "message"), [
    (["{tmp}", "--user", "nobody"], "No user named 'nobody'."),
    (["/no/such/folder", "{tmp}", "--user", "alice"], "No such file or folder: /no/such/folder"),
    (["{tmp}", "--user", "alice", "--tag", ",".join(f"t{i}" for i in range(21))], "at most 20 tags"),
])
def test_it_refuses_bad_arguments(alice, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("import", *[arg.format(tmp=tmp_path) for arg in args])
    assert not Document.objects.exists()


def test_it_refuses_an_unknown_category(alice, tmp_path):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import", str(tmp_path), "--user", "alice", "--category", "weapons")


def test_it_imports_everything_exactly_once_after_being_killed_midway(tmp_path):
    files = {f"folder {i % 4}/note {i}.txt": f"note number {i}\n".encode() * 50 for i in range(60)}
    root = tree(tmp_path / "in", files)
    installation = Installation(tmp_path / "install")
    try:
        installation.create_users("erin")
        command = [sys.executable, "-m", "strongbox", "import", str(root), "--user", "erin"]
        process = subprocess.Popen(command, env=installation.env, stdout=subprocess.DEVNULL,  # noqa: S603
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        seen, deadline = 0, time.monotonic() + 60
        while seen < 10 and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line or process.poll() is None, "the import ended before it could be killed"
            seen += " imported: " in line
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        before = installation.query("SELECT count(*) FROM documents_document")[0][0]
        assert 10 <= before < 60, before

        summary = installation.manage("import", str(root), "--user", "erin")
        assert f"Imported: {60 - before}" in summary and f"Skipped, already uploaded: {before}" in summary
        rows = installation.query("SELECT title, sha256 FROM documents_document")
        assert len(rows) == 60 and len({sha for _, sha in rows}) == 60 and len({t for t, _ in rows}) == 60
        # Every document has its file, and every file is the one its row names.
        check = installation.shell(
            "import hashlib\n"
            "from django.core.files.storage import default_storage\n"
            "from strongbox.documents.models import Document\n"
            "bad = [d.pk for d in Document.objects.all()\n"
            "       if hashlib.sha256(default_storage.open(d.file.name).read()).hexdigest() != d.sha256]\n"
            "print(len(bad))")
        assert check == "0"
        again = installation.manage("import", str(root), "--user", "erin")
        assert "Imported: 0" in again and "Skipped, already uploaded: 60" in again
    finally:
        installation.close()
