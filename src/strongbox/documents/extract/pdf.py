"""Text of PDF documents, page by page, with pypdf.

Contract: raises (any exception) when the file cannot be parsed; the caller runs this in a resource-limited
child process because pypdf on hostile input can be slow or memory hungry.
"""

from pypdf import PdfReader
from pypdf.errors import DependencyError


def pdf_text(path: str) -> str:
    """Return the text of every page, pages separated by a blank line. Scanned pages contribute nothing."""
    reader = PdfReader(path)
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to set permissions, with an empty user password; those open fine.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise ValueError("the PDF is encrypted with a method this server cannot read") from exc
        if not opened:
            raise ValueError("the PDF is password-protected")
    return "\n\n".join(page.extract_text() or "" for page in reader.pages)
