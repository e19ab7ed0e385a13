"""Text of PDF documents, page by page, with pypdf.

Contract: raises (any exception) when the file cannot be parsed; the caller runs this in a resource-limited
child process because pypdf on hostile input can be slow or memory hungry.

A few hundred bytes of PDF can describe work without end: a page tree whose nodes list the same child many times
(ten kids, three levels: a thousand pages), or a content stream that inflates to millions of operators. So
besides the child's CPU and memory limits (runner.py), which bound the whole run, each file's work is bounded
here: a page the tree lists again is read once (it has the same text), at most `max_pages` pages are read, and
pypdf's own per-stream budgets are tightened to what real documents need.
"""

from pypdf import PdfReader, apply_configuration
from pypdf.errors import DependencyError, LimitReachedError

# pypdf's defaults allow 75 MB per inflated stream and 2 million parsing steps per content stream (about ten
# seconds of CPU); a text page of a real document needs a few thousand steps, a dense vector drawing a few
# hundred thousand.
_LIMITS = {
    "stream_parsing_work_maximum_count": 1_000_000,
    "zlib_maximum_output_length": 32_000_000,
    "page_tree_maximum_entries": 50_000,
    "xform_maximum_invocations_per_extraction": 1_000,
}


def pdf_text(path: str, *, max_pages: int | None = None) -> str:
    """Return the text of the first `max_pages` distinct pages (all when None), separated by a blank line.
    Scanned pages contribute nothing."""
    return "\n\n".join(text for _, text in pdf_page_texts(path, max_pages=max_pages))


def pdf_page_texts(path: str, *, max_pages: int | None = None) -> list[tuple[int, str]]:
    """Return (page index, text) of the first `max_pages` distinct pages: a scanned page's text is empty (OCR,
    ocr.py, reads it from the page rendered at that index)."""
    with apply_configuration(**_LIMITS):
        try:
            return _texts(PdfReader(path), max_pages)
        except LimitReachedError as exc:
            raise ValueError(f"the PDF needs more work than this server allows: {exc}") from exc


def _texts(reader: PdfReader, max_pages: int | None) -> list[tuple[int, str]]:
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to set permissions, with an empty user password; those open fine.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise ValueError("the PDF is encrypted with a method this server cannot read") from exc
        if not opened:
            raise ValueError("the PDF is password-protected")
    texts: list[tuple[int, str]] = []
    seen: set[int] = set()
    for index, page in enumerate(reader.pages):
        if max_pages is not None and len(texts) >= max_pages:
            break
        reference = page.indirect_reference
        if reference is not None:
            # A page listed twice has the same text twice: reading it again adds nothing to search.
            if reference.idnum in seen:
                continue
            seen.add(reference.idnum)
        texts.append((index, page.extract_text() or ""))
    return texts
