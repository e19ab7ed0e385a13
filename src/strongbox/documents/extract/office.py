"""Text of Office Open XML files (docx, xlsx), read with zipfile and defusedxml rather than python-docx/openpyxl.

Contract: raises (any exception) when the file cannot be parsed. The archive was already inspected at upload
(strongbox.lib.archive), and XML is still parsed with DTDs and entities forbidden, because a stored file might
predate a check or the check might have a hole; the child process limits are the last line of defence.
Elements are cleared as soon as they are read, so memory follows the size of one paragraph or row.
"""

import re
import zipfile
from collections.abc import Iterator
from xml.etree.ElementTree import Element  # the type only; parsing goes through defusedxml  # nosec B405

from defusedxml.ElementTree import iterparse

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_DIGITS = re.compile(r"(\d+)")  # captured, so split() keeps the numbers


def _elements(archive: zipfile.ZipFile, name: str) -> Iterator[Element]:
    """Yield the elements of one XML part as each one ends (children before their parent)."""
    try:
        stream = archive.open(name)
    except KeyError:
        raise ValueError(f"the archive has no {name} part") from None
    with stream:
        for _, element in iterparse(stream, events=("end",), forbid_dtd=True):
            yield element


def docx_text(path: str) -> str:
    """Return the body text of word/document.xml: one line per paragraph, tabs and line breaks kept."""
    paragraphs: list[str] = []
    pieces: list[str] = []
    with zipfile.ZipFile(path) as archive:
        for element in _elements(archive, "word/document.xml"):
            # Text, tabs and breaks are read from their run: a w:tab outside a run is a tab-stop definition.
            if element.tag == f"{_W}r":
                for child in element:
                    if child.tag == f"{_W}t":
                        pieces.append(child.text or "")
                    elif child.tag == f"{_W}tab":
                        pieces.append("\t")
                    elif child.tag in (f"{_W}br", f"{_W}cr"):
                        pieces.append("\n")
                element.clear()
            elif element.tag == f"{_W}p":
                paragraphs.append("".join(pieces))
                pieces.clear()
                element.clear()
    return "\n".join(paragraphs)


def xlsx_text(path: str) -> str:
    """Return the cell values of every worksheet: one line per row, cells separated by tabs.

    Shared strings, inline strings, numbers, dates and cached formula results are included; booleans and
    errors are not, as nobody searches for them.
    """
    lines: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        shared = _shared_strings(archive) if "xl/sharedStrings.xml" in names else []
        for sheet in sorted(filter(_SHEET.fullmatch, names), key=_natural_key):
            for element in _elements(archive, sheet):
                if element.tag == f"{_S}row":
                    line = "\t".join(filter(None, (_cell_text(cell, shared) for cell in element.iter(f"{_S}c"))))
                    if line:
                        lines.append(line)
                    element.clear()
    return "\n".join(lines)


def _natural_key(name: str) -> list[int | str]:
    # sheet2.xml before sheet10.xml, which is usually the workbook's own order.
    return [int(piece) if piece.isdigit() else piece for piece in _DIGITS.split(name)]


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    strings: list[str] = []
    for element in _elements(archive, "xl/sharedStrings.xml"):
        if element.tag == f"{_S}si":
            strings.append(_string_item(element))
            element.clear()
    return strings


def _string_item(item: Element) -> str:
    """Text of a shared-string <si> or inline <is>: plain <t> or rich-text runs, without phonetic hints."""
    pieces: list[str] = []
    for child in item:
        if child.tag == f"{_S}t":
            pieces.append(child.text or "")
        elif child.tag == f"{_S}r":
            pieces.extend(text.text or "" for text in child.iter(f"{_S}t"))
    return "".join(pieces)


def _cell_text(cell: Element, shared: list[str]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        item = cell.find(f"{_S}is")
        return _string_item(item) if item is not None else ""
    value = cell.findtext(f"{_S}v")
    if value is None or kind in ("b", "e"):
        return ""
    if kind == "s":
        index = int(value)
        return shared[index] if 0 <= index < len(shared) else ""
    return value
