"""Small PDFs that ask pypdf for a great deal of work (the attack of issue 9, finding 8), built byte by byte.

`page_tree_bomb` lists one page many times through a page tree whose nodes repeat their kids (fanout ** depth pages
from a few hundred bytes); `shared_content_bomb` has `pages` distinct pages that all draw one content stream, which
inflates to `operators` text operators. Either costs pypdf about a second per 150,000 operators read.
"""

import zlib


def pdf_from_objects(objects: list[bytes]) -> bytes:
    """A PDF file of these objects (numbered from 1, the first the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _content(operators: int) -> bytes:
    packed = zlib.compress(b"BT /F1 1 Tf " + b"(x) Tj " * operators + b"ET", 9)
    return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed)


_CATALOG = b"<< /Type /Catalog /Pages 4 0 R >>"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(parent: int) -> bytes:
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 10 10] /Resources << /Font << /F1 2 0 R >> >> "
            b"/Contents 3 0 R >>" % parent)


def page_tree_bomb(*, fanout: int = 10, depth: int = 3, operators: int = 5000) -> bytes:
    """Objects: 1 catalog, 2 font, 3 content, 4… one /Pages node per level, each listing the next `fanout` times."""
    objects = [_CATALOG, _FONT, _content(operators)]
    for level in range(depth):
        number = 4 + level
        parent = b"/Parent %d 0 R " % (number - 1) if level else b""
        kids = b" ".join([b"%d 0 R" % (number + 1)] * fanout)
        objects.append(b"<< /Type /Pages %s/Kids [%s] /Count %d >>" % (parent, kids, fanout ** (depth - level)))
    objects.append(_page(4 + depth - 1))
    return pdf_from_objects(objects)


def shared_content_bomb(*, pages: int = 40, operators: int = 200_000) -> bytes:
    """Objects: 1 catalog, 2 font, 3 content, 4 the /Pages node, 5… `pages` pages drawing object 3."""
    kids = b" ".join(b"%d 0 R" % (5 + index) for index in range(pages))
    objects = [_CATALOG, _FONT, _content(operators), b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)]
    objects += [_page(4)] * pages
    return pdf_from_objects(objects)


def slow_pdf(word: str, *, pages: int, operators: int) -> bytes:
    """A small text PDF that takes pypdf about a second per 30,000 text operators of each page to read (measured
    on this 2-core machine: 3 pages × 30,000 in 3.3 s): `pages` pages drawing one content stream, `word` on a
    line of its own and then `operators` times the letter x."""
    body = b"BT /F1 1 Tf (%s) Tj 0 -2 Td " % word.encode() + b"(x) Tj " * operators + b"ET"
    packed = zlib.compress(body, 9)
    page = (b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 10 10] /Resources << /Font << /F1 2 0 R >> >> "
            b"/Contents 3 0 R >>")
    kids = b" ".join(b"%d 0 R" % (5 + index) for index in range(pages))
    objects = [b"<< /Type /Catalog /Pages 4 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed),
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), *[page] * pages]
    return pdf_from_objects(objects)
