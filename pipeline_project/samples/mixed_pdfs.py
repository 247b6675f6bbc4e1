"""PDFs that mix born-digital pages and scanned (image-only) pages, as office scanners and
"print, sign, scan, append" workflows produce them. Used by the SLURM routing tests and benchmark."""

from __future__ import annotations

import random
from pathlib import Path

import pymupdf

from pipeline_project.samples import paragraph

TEXT, SCAN = "T", "S"


def scan_line(doc_label: str, page: int) -> str:
    """The words printed on a scanned page (what OCR must find there)."""
    return f"Scanned sheet {page} of {doc_label}"


def mixed_pdf(path: Path, layout: str, seed: int = 0, dpi: int = 100) -> Path:
    """One page per letter of `layout`: T = a page with a text layer, S = a picture of text only.
    Scanned page n carries the line `scan_line(path.stem, n)` in large type."""
    rng = random.Random(seed)
    out = pymupdf.open()
    for n, kind in enumerate(layout.upper(), start=1):
        if kind == TEXT:
            page = out.new_page()
            body = "\n\n".join(paragraph(rng, 50) for _ in range(3))
            page.insert_textbox(pymupdf.Rect(54, 54, 558, 760), f"{path.stem} - page {n}\n\n{body}", fontsize=10)
            continue
        if kind != SCAN:
            raise ValueError(f"layout letters are T (text layer) or S (scan), not {kind!r}")
        src = pymupdf.open()
        drawn = src.new_page()
        drawn.insert_textbox(pymupdf.Rect(54, 54, 558, 400), scan_line(path.stem, n), fontsize=22)
        pix = drawn.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        target = out.new_page(width=drawn.rect.width, height=drawn.rect.height)
        target.insert_image(target.rect, stream=pix.tobytes("png"))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return path


def born_digital_corpus(folder: Path, documents: int, pages: int) -> list[Path]:
    """Only text-layer pages: a SLURM run of it must send nothing to the GPU."""
    return [mixed_pdf(folder / f"report_{i:04d}.pdf", TEXT * pages, seed=i) for i in range(documents)]
