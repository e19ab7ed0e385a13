"""HTTP Range requests (RFC 9110 §14): one byte range per request."""

import re

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    """The range lies outside the representation: answer 416."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the inclusive (first, last) byte positions asked for, or None to send the whole representation.

    Multiple ranges and malformed headers are ignored (None), as RFC 9110 allows; a syntactically valid range
    that starts beyond the end raises RangeNotSatisfiable.
    """
    match = _SINGLE.match((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable()
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        raise RangeNotSatisfiable()
    if end < start:
        return None
    return start, end
