"""Text extraction from stored documents, for the search index.

`extract_text` parses in the current process and raises whatever the parser raises on a damaged file. Use
`strongbox.documents.extract.runner.run_extraction` to parse untrusted files: it runs this package's command line
(`python -m strongbox.documents.extract`) in a child process with memory, CPU and wall-clock limits.

Nothing here imports Django, so the child process needs no settings.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SUPPORTED_EXTENSIONS", "OcrOptions", "extract_document", "extract_text"]

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
# Images have no text of their own: only OCR (extract_document with OcrOptions) reads theirs.
_WITHOUT_TEXT = frozenset({"png", "jpeg"})
#: Where a document's text came from (Document.text_source).
LAYER, OCR, NONE = "layer", "ocr", "none"
# A page whose text layer has fewer letters than this is taken for a scan (a page number, a stray header).
_MIN_LAYER_CHARACTERS = 3

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


@dataclass(frozen=True)
class OcrOptions:
    """Recognise text where a file has none: with this tesseract binary and languages ("eng+deu"), in at most
    `seconds` for the whole file, on at most `max_pages` pages of a PDF, images of at most `max_pixels` pixels."""

    tesseract: str
    languages: str
    seconds: float
    max_pages: int
    max_pixels: int


def extract_document(path: str, extension: str, *, max_pages: int | None = None, ocr: OcrOptions | None = None,
                     layer_read: Callable[[], None] = lambda: None) -> dict:
    """Return {"text", "source", "ocr_pages"}: the file's text as extract_text reads it, where it came from (LAYER,
    OCR or NONE), and how many pages OCR read. With `ocr`, an image's text and that of PDF pages without a text
    layer (the first ocr.max_pages of them) is recognised with Tesseract, and the text layer is kept elsewhere."""
    if ocr is None or extension not in _WITHOUT_TEXT | _PAGED:
        text = extract_text(path, extension, max_pages=max_pages)
        layer_read()
        return {"text": text, "source": LAYER if text.strip() else NONE, "ocr_pages": 0}
    from strongbox.documents.extract import ocr as recognition

    if extension in _WITHOUT_TEXT:
        layer_read()
        try:
            text = recognition.image_text(path, tesseract=ocr.tesseract, languages=ocr.languages,
                                          budget=recognition.OcrBudget(ocr.seconds), max_pixels=ocr.max_pixels)
        except Exception as exc:  # noqa: BLE001 - OCR is a bonus: an image it cannot read still has no text
            return {"text": "", "source": NONE, "ocr_pages": 0, "ocr_error": _reason(exc)}
        return {"text": text, "source": OCR if text.strip() else NONE, "ocr_pages": 1}
    from strongbox.documents.extract.pdf import pdf_page_texts

    pages = pdf_page_texts(path, max_pages=max_pages)
    layer_read()
    scanned = [index for index, text in pages if len("".join(text.split())) < _MIN_LAYER_CHARACTERS]
    recognised, error = {}, None
    if scanned:
        try:
            recognised = recognition.pdf_pages_text(path, scanned[:ocr.max_pages], tesseract=ocr.tesseract,
                                                    languages=ocr.languages, budget=recognition.OcrBudget(ocr.seconds))
        except Exception as exc:  # noqa: BLE001 - the text layer read above is still the document's text
            error = _reason(exc)
    text = "\n\n".join(recognised.get(index) or text for index, text in pages)
    from_ocr = any(recognised.get(index, "").strip() for index in scanned)
    source = OCR if from_ocr else LAYER if text.strip() else NONE
    result = {"text": text, "source": source, "ocr_pages": len(recognised)}
    if error:
        result["ocr_error"] = error
    return result


def _reason(exc: Exception) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]
