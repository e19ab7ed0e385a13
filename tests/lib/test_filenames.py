import pytest

from strongbox.lib.filenames import clean_filename


@pytest.mark.parametrize(("raw", "expected"), [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\me\\scan.png", "scan.png"),
    ("in\u202efdp.exe.txt", "infdp.exe.txt"),
    ("line\r\nbreak.txt", "linebreak.txt"),
    ("  spaced   out .csv ", "spaced out .csv"),
    ("", "document.pdf"),
    ("\x00\x01", "document.pdf"),
    ("...", "document.pdf"),
])
def test_it_cleans_names(raw, expected):
    assert clean_filename(raw, fallback_extension="pdf") == expected


def test_it_caps_the_length_in_bytes_keeping_the_extension_and_whole_characters():
    cleaned = clean_filename("é" * 300 + ".docx", fallback_extension="docx")
    assert len(cleaned.encode()) <= 255
    assert cleaned.endswith(".docx")
    assert set(cleaned[:-5]) == {"é"}
