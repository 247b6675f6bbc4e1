"""Deciding whether an arriving file is a readable PDF, and saying why not in plain words.

PyMuPDF (MuPDF) repairs broken xref tables and skips garbage before `%PDF-` by itself, so a file it
can open and read every page of is accepted even when it is damaged; everything else is quarantined
with a reason a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline_project.lib.hashing import sha256_file  # noqa: F401  (callers import it from here too)

if TYPE_CHECKING:  # imported when a PDF is opened (48 MiB), not on every code load
    import pymupdf

# Readers accept junk before the header; the PDF spec's implementations look within the first KiB.
HEADER_SEARCH_BYTES = 1024

_SIGNATURES: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (perhaps a .docx/.xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
]


@dataclass(frozen=True)
class IntakeVerdict:
    ok: bool
    reason: str = ""  # empty when ok
    pages: int = 0
    repaired: bool = False


def open_pdf(path: Path) -> pymupdf.Document:
    """Open a PDF; names MuPDF cannot take (undecodable bytes) are read through a stream instead."""
    import pymupdf

    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return pymupdf.open(stream=Path(path).read_bytes(), filetype="pdf")
    return pymupdf.open(path, filetype="pdf")


def describe_non_pdf(head: bytes) -> str:
    """What a file that is not a PDF looks like, from its first bytes."""
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    lowered = head[:512].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "an HTML page (often a login or error page saved as .pdf)"
    if lowered.startswith(b"<?xml"):
        return "an XML document"
    try:
        head[:512].decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "binary data of an unknown type"


def inspect_pdf(path: Path) -> IntakeVerdict:
    """Validate one file. Never raises for bad content: returns a verdict with a reason."""
    size = path.stat().st_size
    if size == 0:
        return IntakeVerdict(False, "empty file (0 bytes): the download or copy probably failed")
    with open(path, "rb") as fh:
        head = fh.read(HEADER_SEARCH_BYTES)
    if b"%PDF-" not in head:
        return IntakeVerdict(False, f"not a PDF: the file is {describe_non_pdf(head)}, only named .pdf")
    try:
        pdf = open_pdf(path)
    except Exception:  # MuPDF could not even repair it
        return IntakeVerdict(False, "damaged or truncated PDF: even a repairing reader could not open it")
    with pdf:
        if pdf.needs_pass:
            return IntakeVerdict(False, "password-protected PDF: it cannot be read without the password")
        if pdf.page_count < 1:
            return IntakeVerdict(False, "PDF with no pages (truncated or damaged beyond repair)")
        repaired = bool(getattr(pdf, "is_repaired", False))
        for page in pdf:  # a truncated file can open yet fail on its later pages
            try:
                page.get_text("text")
            except Exception as exc:
                return IntakeVerdict(
                    False, f"page {page.number + 1} of {pdf.page_count} is unreadable ({_short(exc)})"
                )
        return IntakeVerdict(True, pages=pdf.page_count, repaired=repaired)


def count_pages(path: Path) -> int:
    """Cheap page count for batching; an unreadable file counts as one page (it will be quarantined)."""
    try:
        with open_pdf(path) as pdf:
            return max(pdf.page_count, 1)
    except Exception:
        return 1


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
