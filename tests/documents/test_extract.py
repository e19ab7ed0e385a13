"""Text extraction, in process (extract_text) and in a limited child process (run_extraction)."""

import os
import zipfile

import pytest

from hostile_pdf import page_tree_bomb, shared_content_bomb
from samples import SAMPLES, docx_bytes, docx_entries, xlsx_bytes, zip_bytes
from strongbox.documents.extract import SUPPORTED_EXTENSIONS, extract_text
from strongbox.documents.extract.runner import ExtractionFailed, run_extraction, time_limit

MB = 1024 * 1024
S_NAMESPACE = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def write(tmp_path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize("extension", sorted(SAMPLES))
def test_it_extracts_the_distinctive_word_of_each_type(tmp_path, extension):
    filename, content, word = SAMPLES[extension]
    text = extract_text(write(tmp_path, filename, content), extension)
    if word:
        assert word in text
    else:
        assert text == ""


def test_it_supports_exactly_the_canonical_extensions():
    assert SUPPORTED_EXTENSIONS == set(SAMPLES)
    with pytest.raises(ValueError, match="no text extractor for 'jpg'"):
        extract_text("/nonexistent", "jpg")


def test_it_keeps_docx_paragraphs_tabs_and_breaks(tmp_path):
    path = write(tmp_path, "a.docx", docx_bytes("name\tvalue\nsecond line"))
    assert extract_text(path, "docx") == "name\tvalue\nsecond line"


def test_it_puts_each_docx_paragraph_on_its_own_line(tmp_path):
    document = (
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        b'<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
        b"<w:r><w:t>Hel</w:t></w:r><w:r><w:t>lo</w:t></w:r></w:p>"
        b"<w:p><w:r><w:delText>gone</w:delText><w:t>World</w:t></w:r></w:p>"
        b"</w:body></w:document>"
    )
    path = write(tmp_path, "a.docx", zip_bytes(docx_entries(document)))
    assert extract_text(path, "docx") == "Hello\nWorld"


def test_it_extracts_xlsx_shared_strings_and_numbers_row_by_row(tmp_path):
    path = write(tmp_path, "a.xlsx", xlsx_bytes([["fruit", "price"], ["fig", 2.5], [None, 7]]))
    assert extract_text(path, "xlsx") == "fruit\tprice\nfig\t2.5\n7"


def test_it_extracts_xlsx_inline_strings_from_every_sheet_in_order(tmp_path):
    def sheet(cells: str) -> bytes:
        return f'<worksheet xmlns="{S_NAMESPACE}"><sheetData><row r="1">{cells}</row></sheetData></worksheet>'.encode()

    entries = {
        "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "xl/workbook.xml": f'<workbook xmlns="{S_NAMESPACE}"/>'.encode(),
        "xl/worksheets/sheet10.xml": sheet('<c t="inlineStr"><is><t>last</t></is></c>'),
        "xl/worksheets/sheet2.xml": sheet('<c t="inlineStr"><is><r><t>rich </t></r><r><t>text</t></r></is></c>'
                                          '<c t="b"><v>1</v></c><c t="str"><v>formula result</v></c>'),
    }
    path = write(tmp_path, "a.xlsx", zip_bytes(entries))
    assert extract_text(path, "xlsx") == "rich text\tformula result\nlast"


def test_it_refuses_xml_entities_while_extracting(tmp_path):
    document = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]>'
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&x;</w:document>')
    path = write(tmp_path, "a.docx", zip_bytes(docx_entries(document)))
    with pytest.raises(ValueError, match="DTD"):
        extract_text(path, "docx")


def test_it_decodes_text_leniently_and_drops_the_bom(tmp_path):
    path = write(tmp_path, "a.txt", "\ufeffcafé ".encode() + b"\xff")
    assert extract_text(path, "txt") == "café \ufffd"


def test_it_runs_extraction_in_a_child_process(tmp_path):
    filename, content, word = SAMPLES["pdf"]
    assert word in run_extraction(write(tmp_path, filename, content), "pdf")


def test_it_runs_without_django_settings(tmp_path, monkeypatch):
    # The child gets its own small environment, so a parent's settings module (even a broken one) is irrelevant.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "no.such.settings")
    filename, content, word = SAMPLES["docx"]
    assert word in run_extraction(write(tmp_path, filename, content), "docx")


def test_it_truncates_the_text_to_max_chars(tmp_path):
    path = write(tmp_path, "a.txt", ("é" * 1000 + "tail").encode())
    assert run_extraction(path, "txt", max_chars=10) == "é" * 10


def test_it_reports_a_damaged_pdf(tmp_path):
    path = write(tmp_path, "bad.pdf", b"%PDF-1.7\nthis is not really a PDF\n%%EOF\n")
    with pytest.raises(ExtractionFailed) as caught:
        run_extraction(path, "pdf")
    assert str(caught.value) == "the file is damaged: startxref not found"


def test_it_reports_a_damaged_docx(tmp_path):
    path = write(tmp_path, "bad.docx", zip_bytes({"word/other.xml": b"<a/>"}, compression=zipfile.ZIP_STORED))
    with pytest.raises(ExtractionFailed) as caught:
        run_extraction(path, "docx")
    assert str(caught.value) == "the file is damaged: the archive has no word/document.xml part"


def test_it_stops_an_extraction_that_needs_too_much_memory(tmp_path):
    # A sparse 256 MB file costs no disk, but reading it needs 256 MB at once, more than the limit allows.
    path = tmp_path / "huge.txt"
    with path.open("wb") as sparse:
        sparse.truncate(256 * MB)
    with pytest.raises(ExtractionFailed) as caught:
        run_extraction(str(path), "txt", memory_bytes=128 * MB)
    assert str(caught.value) == "ran out of memory"


def test_it_stops_an_extraction_that_takes_too_long(tmp_path):
    # Opening a FIFO nobody writes to blocks forever: only the time limit can end this child.
    path = tmp_path / "stuck.txt"
    os.mkfifo(path)
    with pytest.raises(ExtractionFailed) as caught:
        run_extraction(str(path), "txt", timeout=0.5)
    assert str(caught.value) == "timed out"


def test_it_refuses_an_unsupported_extension_without_starting_a_child():
    with pytest.raises(ValueError, match="no text extractor for 'exe'"):
        run_extraction("/nonexistent", "exe")


def test_it_reads_a_page_the_page_tree_lists_many_times_once(tmp_path):
    # 1 KB listing one 5,000-operator page a thousand times: about 50 s of CPU when every listing was read.
    path = write(tmp_path, "tree.pdf", page_tree_bomb(fanout=10, depth=3, operators=5000))
    assert extract_text(path, "pdf") == "x" * 5000


def test_it_reads_at_most_max_pages_pages(tmp_path):
    path = write(tmp_path, "pages.pdf", shared_content_bomb(pages=5, operators=3))
    assert extract_text(path, "pdf", max_pages=2) == "xxx\n\nxxx"
    assert run_extraction(path, "pdf", max_pages=1) == "xxx"


def test_it_refuses_a_content_stream_past_the_parsing_budget(tmp_path):
    path = write(tmp_path, "dense.pdf", shared_content_bomb(pages=1, operators=600_000))
    with pytest.raises(ValueError, match="more work than this server allows"):
        extract_text(path, "pdf")


def test_the_time_limit_follows_the_files_size():
    assert time_limit(5_000, minimum=5, per_mb=20, maximum=60) == pytest.approx(5.1, abs=0.01)
    assert time_limit(MB, minimum=5, per_mb=20, maximum=60) == 25
    assert time_limit(50 * MB, minimum=5, per_mb=20, maximum=60) == 60


def test_the_extraction_child_dies_with_a_worker_killed_mid_extraction(tmp_path):
    # A task worker killed with SIGKILL (a crash, an OOM kill) must not leave its child parsing on: the job runs
    # again on another worker once its lease ends.
    import signal
    import subprocess
    import sys
    import time

    from hostile_pdf import slow_pdf

    path = tmp_path / "slow.pdf"
    path.write_bytes(slow_pdf("zebra", pages=20, operators=30_000))  # about 20 s of parsing
    worker = subprocess.Popen([sys.executable, "-c", "import sys; from strongbox.documents.extract.runner import "  # noqa: S603
                               "run_extraction; run_extraction(sys.argv[1], 'pdf', timeout=60)", str(path)])
    try:
        deadline = time.monotonic() + 20
        while not (children := _children_of(worker.pid)):
            assert time.monotonic() < deadline and worker.poll() is None, "no extraction child started"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{child}") for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [child for child in children if os.path.exists(f"/proc/{child}")]


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found
