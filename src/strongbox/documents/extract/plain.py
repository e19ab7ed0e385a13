"""Text of plain-text uploads (txt, md, csv).

Contract: the upload check already required strict UTF-8, but stored files are decoded with replacement so a file
that somehow is not still yields its readable parts instead of failing.
"""

from pathlib import Path


def plain_text(path: str) -> str:
    """Return the file's text, without a leading byte order mark."""
    return Path(path).read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
