"""Sample inputs the quickstart, tests and benchmarks generate (nothing large is committed).

Born-digital PDFs carry a text layer; image-only PDFs are pages rendered to pictures, as a scanner
would produce; bad files cover what the world sends: empty, truncated, HTML or PNG named .pdf,
password-protected, junk before the header, a broken xref table.
"""

from __future__ import annotations

import random
from pathlib import Path

import pymupdf

_WORDS = (
    "pipeline data stream partition batch sensor record document page chunk vector embedding river "
    "bridge survey drawing revision sample measure signal week archive library paper method result "
    "analysis model theory field storage network quality report figure table section appendix"
).split()


def paragraph(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def born_digital_pdf(path: Path, pages: int, seed: int = 0, title: str | None = None) -> Path:
    rng = random.Random(seed)
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page()
        header = f"{title or path.stem} - page {n + 1}"
        body = "\n\n".join(paragraph(rng, 60) for _ in range(4))
        page.insert_textbox(pymupdf.Rect(54, 54, 558, 760), f"{header}\n\n{body}", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


def image_only_pdf(path: Path, lines: list[str], dpi: int = 150) -> Path:
    """One page that is only a picture of text: no text layer, so it needs OCR."""
    src = pymupdf.open()
    page = src.new_page()
    page.insert_textbox(pymupdf.Rect(54, 54, 558, 760), "\n".join(lines), fontsize=14)
    pix = page.get_pixmap(dpi=dpi)
    out = pymupdf.open()
    target = out.new_page(width=page.rect.width, height=page.rect.height)
    target.insert_image(target.rect, stream=pix.tobytes("png"))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return path


def bad_files(folder: Path, good: Path) -> dict[str, str]:
    """Write one of each kind of bad input into `folder`; returns file name → what is wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    data = good.read_bytes()
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "truncated.pdf").write_bytes(data[:300])
    (folder / "login_page.pdf").write_bytes(b"<!DOCTYPE html><html><body>Please sign in</body></html>\n")
    (folder / "picture.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pymupdf.open(good) as doc:
        doc.save(folder / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="secret")
    (folder / "junk_header.pdf").write_bytes(b"HTTP/1.1 200 OK\r\nX-Junk: 1\r\n\r\n" + data)
    (folder / "broken_xref.pdf").write_bytes(data.replace(b"startxref", b"startxrEf"))
    return {
        "empty.pdf": "quarantined", "truncated.pdf": "quarantined", "login_page.pdf": "quarantined",
        "picture.pdf": "quarantined", "locked.pdf": "quarantined",
        "junk_header.pdf": "accepted", "broken_xref.pdf": "accepted",
    }


def sample_corpus(folder: Path, documents: int = 6, pages: int = 3, scans: int = 1) -> list[Path]:
    """A small mixed corpus for the quickstart."""
    paths = [born_digital_pdf(folder / f"report_{i:03d}.pdf", pages, seed=i) for i in range(documents)]
    for i in range(scans):
        paths.append(image_only_pdf(folder / f"scan_{i:03d}.pdf",
                                    [f"Scanned letter number {i}", "The river survey found the bridge sound.",
                                     "Measurements were taken every week."]))
    return paths
