"""Opening drawing sets and rendering their pages (PyMuPDF), with readable reasons for bad input.

Pages are rendered as displayed (the page's /Rotate applied) at PAGE_EXTRACTION_DPI, lowered for a
sheet so large that its picture would exceed DRAWINGS_MAX_PAGE_PIXELS (an A0 sheet at 220 dpi is
~60 million pixels). Text-layer words come back in the same pixel coordinates as the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline_project.lib.atomic import atomic_path
from pipeline_project.lib.settings import env_int

if TYPE_CHECKING:
    import pymupdf

DEFAULT_DPI = 220
DEFAULT_MAX_PIXELS = 80_000_000
PDF_MAGIC_WINDOW = 1024  # the PDF spec lets the header start within the first 1 KB


class BadDrawingSet(Exception):
    """A file that cannot be compared at all; str(exc) is a sentence a person can act on."""


def extraction_dpi() -> int:
    return env_int("PAGE_EXTRACTION_DPI", DEFAULT_DPI)


def max_page_pixels() -> int:
    return env_int("DRAWINGS_MAX_PAGE_PIXELS", DEFAULT_MAX_PIXELS)


def _sniff(head: bytes) -> str:
    """What a non-PDF file most likely is, for the reason text."""
    lowered = head[:512].lstrip().lower()
    if not head:
        return "the file is empty"
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered:
        return "the file is an HTML page (often a login or error page saved as .pdf)"
    for magic, kind in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a ZIP archive"),
                        (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"), (b"AC10", "a DWG drawing")):
        if head.startswith(magic):
            return f"the file is {kind}, not a PDF"
    return "the file does not start with a PDF header"


def open_set(path: Path, label: str = "") -> pymupdf.Document:
    """Open a drawing set for reading, or raise BadDrawingSet saying what is wrong with it."""
    import pymupdf  # when a drawing is read, not at code-location load (48 MiB)

    path = Path(path)
    name = label or path.name
    try:
        with open(path, "rb") as fh:
            head = fh.read(PDF_MAGIC_WINDOW)
    except OSError as exc:
        raise BadDrawingSet(f"{name}: cannot be read ({exc.strerror or exc})") from exc
    if b"%PDF-" not in head:
        raise BadDrawingSet(f"{name} is not a PDF: {_sniff(head)}")
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        raise BadDrawingSet(f"{name} is a damaged PDF that cannot be opened ({exc})") from exc
    if doc.needs_pass:
        doc.close()
        raise BadDrawingSet(f"{name} is encrypted (password-protected); save an unprotected copy and submit it again")
    if doc.page_count == 0:
        doc.close()
        raise BadDrawingSet(f"{name} has no pages")
    return doc


def check_set(path: Path, label: str = "") -> int:
    """The number of pages, after making sure every page can at least be loaded."""
    with open_set(path, label) as doc:
        for i in range(doc.page_count):
            try:
                doc.load_page(i)
            except Exception as exc:
                raise BadDrawingSet(f"{label or Path(path).name}: page {i + 1} cannot be read ({exc})") from exc
        return doc.page_count


def dpi_for(page: pymupdf.Page, dpi: int, max_pixels: int) -> int:
    """`dpi`, lowered so the page's picture stays within max_pixels."""
    w, h = page.rect.width / 72, page.rect.height / 72
    if w * h * dpi * dpi <= max_pixels or w * h == 0:
        return dpi
    return max(36, int(math.sqrt(max_pixels / (w * h))))


@dataclass
class Rendered:
    rgb: np.ndarray  # (h, w, 3) uint8, the page as displayed
    dpi: int

    @cached_property
    def gray(self) -> np.ndarray:
        import cv2

        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)


def render_page(doc: pymupdf.Document, index: int, dpi: int | None = None,
                max_pixels: int | None = None) -> Rendered:
    import pymupdf  # when a drawing is read, not at code-location load (48 MiB)

    page = doc.load_page(index)
    used = dpi_for(page, dpi or extraction_dpi(), max_pixels or max_page_pixels())
    pix = page.get_pixmap(dpi=used, colorspace=pymupdf.csRGB, alpha=False, annots=True)
    rgb = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy()
    return Rendered(rgb, used)


def render_clip(page: pymupdf.Page, clip: pymupdf.Rect, dpi: int) -> np.ndarray:
    """A grey picture of part of the page; `clip` in displayed page coordinates (points)."""
    import pymupdf  # when a drawing is read, not at code-location load (48 MiB)

    pix = page.get_pixmap(dpi=dpi, clip=clip, colorspace=pymupdf.csGRAY, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()


@dataclass(frozen=True)
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def page_words(page: pymupdf.Page, scale: float = 1.0) -> list[Word]:
    """Text-layer words in displayed coordinates (points × scale; scale = dpi / 72 for pixels)."""
    import pymupdf  # when a drawing is read, not at code-location load (48 MiB)

    words = []
    for x0, y0, x1, y1, text, *_ in page.get_text("words", sort=True):
        r = pymupdf.Rect(x0, y0, x1, y1) * page.rotation_matrix
        words.append(Word(r.x0 * scale, r.y0 * scale, r.x1 * scale, r.y1 * scale, text))
    return words


def text_chars(page: pymupdf.Page) -> int:
    """How many letters and digits the page's text layer holds (0 for a scan or outlined text)."""
    return sum(ch.isalnum() for ch in page.get_text("text"))


def write_png(path: Path, image: np.ndarray, *, rgb: bool = True) -> Path:
    """Write a PNG atomically (fast compression: these are big pictures written once)."""
    import cv2

    if image.ndim == 3 and _is_grey(image):
        data = image[:, :, 0]  # a black-and-white sheet: one channel, a third of the bytes to encode
    else:
        data = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if rgb and image.ndim == 3 else image
    ok, encoded = cv2.imencode(".png", data, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError(f"could not encode {path.name} as PNG")
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(encoded.tobytes())
    return Path(path)


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2]))


def read_png(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read page image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
