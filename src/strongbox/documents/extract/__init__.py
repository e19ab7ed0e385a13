"""Text extraction from stored documents, for the search index.

`extract_text` parses in the current process and raises whatever the parser raises on a damaged file. Use
`strongbox.documents.extract.runner.run_extraction` to parse untrusted files: it runs this package's command line
(`python -m strongbox.documents.extract`) in a child process with memory, CPU and wall-clock limits.

Nothing here imports Django, so the child process needs no settings.
"""

import importlib

__all__ = ["SUPPORTED_EXTENSIONS", "extract_text"]

# Canonical extension -> (module in this package, function taking a path). Parsers are imported on first use,
# so the child process loads only the one it needs and importing this package stays cheap.
_EXTRACTORS = {
    "pdf": ("pdf", "pdf_text"),
    "docx": ("office", "docx_text"),
    "xlsx": ("office", "xlsx_text"),
    "txt": ("plain", "plain_text"),
    "md": ("plain", "plain_text"),
    "csv": ("plain", "plain_text"),
}
_PAGED = frozenset({"pdf"})
# Images would need OCR, which Strongbox does not do.
_WITHOUT_TEXT = frozenset({"png", "jpeg"})

#: The canonical extensions (strongbox.lib.sniff.FileKind.extension) that extract_text accepts.
SUPPORTED_EXTENSIONS = frozenset(_EXTRACTORS) | _WITHOUT_TEXT


def extract_text(path: str, extension: str, *, max_pages: int | None = None) -> str:
    """Return the text of the file at `path`, parsed as the canonical `extension` ("pdf", "jpeg", ...); of a
    paged format (PDF), of its first `max_pages` pages only.

    Raises ValueError for an extension outside SUPPORTED_EXTENSIONS, and any exception for a damaged file.
    """
    if extension in _WITHOUT_TEXT:
        return ""
    try:
        module_name, function_name = _EXTRACTORS[extension]
    except KeyError:
        raise ValueError(f"no text extractor for {extension!r}") from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    if extension in _PAGED:
        return getattr(module, function_name)(path, max_pages=max_pages)
    return getattr(module, function_name)(path)
