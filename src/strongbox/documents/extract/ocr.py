"""Text recognition (OCR) of images and of PDF pages without a text layer, with the Tesseract binary.

Contract: runs inside the resource-limited extraction child (runner.py), never in a web or worker process. Every
image Tesseract sees is one Pillow decoded under a pixel cap (render.open_image) and re-encoded as PNG, so leptonica
never parses an uploaded file itself; PDF pages are rasterised by pdfium at OCR_DPI with both sides capped. Each call
of the binary has a timeout taken from what is left of the child's OCR budget, and inherits the child's memory and
CPU limits; when the budget runs out the pages recognised so far are kept.

Nothing here imports Django.
"""

import io
import os
import subprocess  # runs the configured tesseract binary with a fixed argument list, never a shell  # nosec B404
import time

from strongbox.documents.extract import render

OCR_DPI = 300
# A page larger than this (in pixels, either side) at OCR_DPI is rasterised smaller: a poster-sized page would
# otherwise need hundreds of MB.
MAX_SIDE = 5000
# Tesseract's own thread pool would take every core of the machine for one upload; one thread is enough.
_TESSERACT_ENV = {"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}
_MIN_SECONDS_PER_PAGE = 2


class OcrBudget:
    """The seconds the child may spend recognising text, counted from its creation."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def recognise_png(png: bytes, *, tesseract: str, languages: str, budget: OcrBudget) -> str | None:
    """Return the text Tesseract reads in a PNG image, or None when the budget is spent (before or during)."""
    seconds = budget.left()
    if seconds < _MIN_SECONDS_PER_PAGE:
        return None
    env = {**_TESSERACT_ENV}
    if "TESSDATA_PREFIX" in os.environ:
        env["TESSDATA_PREFIX"] = os.environ["TESSDATA_PREFIX"]
    try:
        completed = subprocess.run(  # noqa: S603  # the operator's tesseract, fixed arguments  # nosec B603
            [tesseract, "stdin", "stdout", "-l", languages, "--psm", "3"], input=png, capture_output=True,
            timeout=seconds, env=env, check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if completed.returncode != 0:
        message = " ".join(completed.stderr.decode("utf-8", errors="replace").split())[-200:]
        raise ValueError(f"tesseract failed: {message or f'exit status {completed.returncode}'}")
    return completed.stdout.decode("utf-8", errors="replace").strip()


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # a pipe, not storage: speed over size
    return buffer.getvalue()


def image_text(path: str, *, tesseract: str, languages: str, budget: OcrBudget, max_pixels: int) -> str:
    """Return the text recognised in a PNG or JPEG file (refused past `max_pixels`, see render.open_image)."""
    image = render.open_image(path, max_pixels=max_pixels)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode not in ("L", "RGB"):
        image = render.flatten(image)
    return recognise_png(_png(image), tesseract=tesseract, languages=languages, budget=budget) or ""


def pdf_pages_text(path: str, page_indexes: list[int], *, tesseract: str, languages: str,
                   budget: OcrBudget) -> dict[int, str]:
    """Return the recognised text of these pages (0-based) of a PDF, rendered by pdfium at OCR_DPI; pages the
    budget left no time for are missing from the result."""
    import pypdfium2 as pdfium

    found: dict[int, str] = {}
    document = pdfium.PdfDocument(path)
    try:
        for index in page_indexes:
            if budget.left() < _MIN_SECONDS_PER_PAGE:
                break
            image = render.pdf_page_image(document, index, scale=OCR_DPI / 72, max_side=MAX_SIDE, grey=True)
            text = recognise_png(_png(image), tesseract=tesseract, languages=languages, budget=budget)
            if text is None:
                break
            found[index] = text
    finally:
        document.close()
    return found
