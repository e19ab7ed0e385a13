"""Preview images of stored documents: a thumbnail, and page images for the detail page.

Contract: runs inside the resource-limited child (`python -m strongbox.documents.extract --render-to DIR`), which
bounds memory and CPU; on top of that every decode is capped here before it allocates: an image declaring more
than `max_pixels` pixels is refused (Pillow's MAX_IMAGE_PIXELS, its warning made an error), a JPEG is decoded
already reduced (draft mode), a PDF page is rasterised at a scale that fits it in a fixed box whatever size its
MediaBox claims, and at most `max_pages` pages are rendered. Raises (any exception) on a file it cannot render.

- pdf: every page (up to max_pages) as an image PAGE_BOX wide at most, the thumbnail from the first page;
- png, jpeg: the image scaled into IMAGE_BOX (EXIF orientation applied) as page 1, and the thumbnail;
- txt, md, csv, docx, xlsx: a card with the type's name and the first lines of the text (docx/xlsx: the text
  extract_text reads), as the thumbnail only (the detail page shows the text itself, escaped).

Nothing here imports Django.
"""

import json
import time
import warnings
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

THUMB_BOX = (240, 320)
PAGE_BOX = (1000, 2000)
IMAGE_BOX = (1600, 1600)
WEBP_QUALITY = 80
TEXT_EXTENSIONS = frozenset({"txt", "md", "csv", "docx", "xlsx"})
_CARD_LINES = 13
_CARD_COLUMNS = 24
_LABELS = {"txt": "TEXT", "md": "MARKDOWN", "csv": "CSV", "docx": "WORD", "xlsx": "EXCEL"}


def open_image(path: str, *, max_pixels: int) -> Image.Image:
    """Open and decode a PNG or JPEG, refusing one that declares more than `max_pixels` pixels before any pixel
    is decoded (a 100000 x 100000 PNG is a few hundred bytes of header)."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValueError(f"the image is too large to preview (more than {max_pixels:,} pixels)") from None
        if image.format not in ("PNG", "JPEG"):
            raise ValueError(f"not a PNG or JPEG image ({image.format})")
        width, height = image.size
        if width * height > max_pixels:
            raise ValueError(f"the image is too large to preview ({width} x {height} pixels)")
        if image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that is still larger than any preview: far less memory.
            image.draft("RGB", IMAGE_BOX)
        image.load()
    return ImageOps.exif_transpose(image)


def flatten(image: Image.Image) -> Image.Image:
    """Return the image in RGB (or L), transparent parts on white."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def pdf_page_image(document, index: int, *, scale: float | None = None, box: tuple[int, int] | None = None,
                   max_side: int | None = None, grey: bool = False) -> Image.Image:
    """Rasterise page `index` of a pypdfium2 document at `scale` (pixels per point) or to fit `box`, never more
    than `max_side` pixels on either side, whatever its MediaBox claims."""
    page = document[index]
    try:
        width, height = page.get_size()
        if width <= 0 or height <= 0:
            raise ValueError("the page has no size")
        if box is not None:
            scale = min(box[0] / width, box[1] / height)
        if max_side is not None:
            scale = min(scale, max_side / width, max_side / height)
        bitmap = page.render(scale=scale, grayscale=grey, may_draw_forms=True)
        return bitmap.to_pil()
    finally:
        page.close()


def _save(image: Image.Image, path: Path) -> None:
    """Write a WebP atomically (a name that exists is complete)."""
    partial = path.with_suffix(".part")
    flatten(image).save(partial, format="WEBP", quality=WEBP_QUALITY, method=4)
    partial.rename(path)


def _thumbnail(image: Image.Image) -> Image.Image:
    thumb = flatten(image).copy()
    thumb.thumbnail(THUMB_BOX)
    return thumb


def _font(size: int):
    try:
        return ImageFont.truetype("DejaVuSansMono.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def text_card(text: str, extension: str) -> Image.Image:
    """A page-like card: the type's name on a band, then the first lines of `text`, cut to the card's width."""
    card = Image.new("RGB", THUMB_BOX, "white")
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, THUMB_BOX[0] - 1, THUMB_BOX[1] - 1), outline=(210, 214, 222))
    draw.rectangle((0, 0, THUMB_BOX[0] - 1, 58), fill=(238, 242, 255))
    draw.text((14, 12), _LABELS.get(extension, extension.upper()), fill=(53, 56, 205), font=_font(30))
    font = _font(15)
    lines = [line.expandtabs(4)[:_CARD_COLUMNS] for line in text.splitlines()[:_CARD_LINES]]
    y = 70
    for line in lines:
        draw.text((14, y), line, fill=(29, 35, 48), font=font)
        y += 19
    return card


def render_previews(path: str, extension: str, out_dir: str, *, max_pages: int, max_pixels: int,
                    seconds: float) -> dict:
    """Write thumb.webp and p0001.webp… for the file into `out_dir`; return {"pages": rendered page images,
    "page_count": the document's pages (PDF) or None}. Stops adding pages once `seconds` have passed (the page
    images so far are kept: the preview says how many there are)."""
    out = Path(out_dir)
    started = time.monotonic()
    if extension == "pdf":
        return _pdf_previews(path, out, max_pages=max_pages, seconds=seconds, started=started)
    if extension in ("png", "jpeg"):
        image = flatten(open_image(path, max_pixels=max_pixels))
        page = image.copy()
        page.thumbnail(IMAGE_BOX)
        _save(page, out / "p0001.webp")
        _save(_thumbnail(image), out / "thumb.webp")
        return {"pages": 1, "page_count": None}
    if extension in TEXT_EXTENSIONS:
        from strongbox.documents.extract import extract_text

        _save(text_card(extract_text(path, extension)[:8000], extension), out / "thumb.webp")
        return {"pages": 0, "page_count": None}
    raise ValueError(f"no preview for {extension!r}")


def _pdf_previews(path: str, out: Path, *, max_pages: int, seconds: float, started: float) -> dict:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        count = len(document)
        if count < 1:
            raise ValueError("the PDF has no pages")
        rendered = 0
        for index in range(min(count, max_pages)):
            if index and time.monotonic() - started > seconds:
                break
            image = pdf_page_image(document, index, box=PAGE_BOX)
            if index == 0:
                _save(_thumbnail(image), out / "thumb.webp")
            _save(image, out / f"p{index + 1:04}.webp")
            rendered += 1
    finally:
        document.close()
    return {"pages": rendered, "page_count": count}


def main_render(path: str, extension: str, out_dir: str, *, max_pages: int, max_pixels: int,
                seconds: float) -> str:
    """The child's --render-to mode: render, and return the JSON line it prints."""
    return json.dumps(render_previews(path, extension, out_dir, max_pages=max_pages, max_pixels=max_pixels,
                                      seconds=seconds))
