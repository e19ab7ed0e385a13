"""HTTP Range requests (RFC 9110 §14): one byte range per request."""

import re

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Past this many significant digits a position is beyond any file (10**18 bytes is an exabyte), so it is not
# converted: Python refuses to turn more than 4,300 digits into an int, and converting fewer still costs CPU.
_MAX_DIGITS = 18
_BEYOND_ANY_FILE = 10**_MAX_DIGITS


class RangeNotSatisfiable(Exception):
    """The range lies outside the representation: answer 416."""


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else _BEYOND_ANY_FILE


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the inclusive (first, last) byte positions asked for, or None to send the whole representation.

    Multiple ranges and malformed headers are ignored (None), as RFC 9110 allows; a syntactically valid range
    that starts beyond the end raises RangeNotSatisfiable. Positions of any length are valid: a huge one means
    "beyond the end" (a first position: 416; a last one or a suffix length: up to the end).
    """
    match = _SINGLE.match((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        length = _position(last)
        if length == 0:
            raise RangeNotSatisfiable()
        return max(0, size - length), size - 1
    start = _position(first)
    end = min(_position(last), size - 1) if last else size - 1
    if start >= size:
        raise RangeNotSatisfiable()
    if end < start:
        return None
    return start, end
