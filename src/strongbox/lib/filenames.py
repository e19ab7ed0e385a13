"""Cleaning of user-supplied file names before they are stored or sent back in a header."""

import unicodedata

MAX_FILENAME_BYTES = 255


def clean_filename(name: str, *, fallback_extension: str, max_bytes: int = MAX_FILENAME_BYTES) -> str:
    """Return a display-safe file name: no directories, control or bidi/format characters, at most
    `max_bytes` bytes of UTF-8, the extension kept when the name has to be shortened."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters (CR, LF, NUL...); Cf: format characters, which include the bidi overrides that
    # make "invoice\u202efdp.exe" display as "invoiceexe.pdf".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    name = " ".join(name.split()).strip(" .")
    if not name:
        name = f"document.{fallback_extension}"
    if len(name.encode()) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension}" if dot and len(extension.encode()) <= 16 else ""
    stem = stem if suffix else name
    budget = max_bytes - len(suffix.encode())
    # Cut on a character boundary: decode with "ignore" drops a partial multibyte sequence at the end.
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(" .")
    return f"{stem}{suffix}"
