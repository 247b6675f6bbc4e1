"""The sheet id of a drawing page (A-101, E-2.1, S201, "Sheet 3 of 4", a title-block number).

Candidates come from the page's text layer, or, when the page has none (a scan, or text turned into
outlines by the CAD export), from Tesseract reading the title-block corner. Each candidate is scored
by what a person looks for: the shape of a sheet id, a place in the title block (lower right, or the
right-hand strip), large type, and a label such as SHEET NO. or DWG NO. next to it. Equipment tags
(FCU-3) and room numbers share the shape but not the place and size.

Strong ids (discipline letter + number) match sheets across revisions; weak names ("Sheet 3 of 4", a
bare number) are shown to people but not trusted for matching, since inserting a sheet renumbers them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from pipeline_project.defs.drawings.render import Word, page_words, render_clip, text_chars

if TYPE_CHECKING:
    import pymupdf

STRONG_ID = re.compile(r"^[A-Z]{1,3}[-.]?\d{1,4}(?:[.-]\d{1,3}){0,2}[A-Z]?$")
OCR_ID = re.compile(r"^([A-Z]{1,3})([-.]?)([0-9OIl]{1,4}(?:[.-][0-9OIl]{1,3}){0,2})([A-Z]?)$")
WEAK_NUMBER = re.compile(r"^\d{1,6}(?:[-./]\d{1,4}){0,2}$")
SHEET_OF = re.compile(r"\bsheet\s+(\d{1,4})\s+of\s+(\d{1,4})\b", re.IGNORECASE)
LABELS = re.compile(r"^(SHEET|SHT|DWG|DRAWING|DRG|NO\.?|NUMBER|NUM\.?|#)[:.]?$", re.IGNORECASE)
NOT_IDS = {"ISO-9001", "PAGE-1"}
MIN_TEXT_CHARS = 12  # fewer letters/digits than this: the page is a picture; read the title block
OCR_DPI = 200
TITLE_BLOCK_MAX_INCHES = (10.0, 6.0)  # the corner read by OCR, at most this big
OCR_TIMEOUT = 120


@dataclass
class SheetName:
    name: str | None  # what a person reads: "A-101", "Sheet 3 of 4"
    key: str | None  # normalised strong id for matching, None for weak names
    source: str  # "text" | "ocr" | "none"
    score: float = 0.0
    box: tuple[float, float, float, float] | None = None  # where, in page points (displayed)

    def as_dict(self) -> dict:
        return asdict(self)


def normalise(sheet_id: str) -> str:
    """A-101, A101, a-101 and A.101 name the same sheet; E-2.1 keeps its dot."""
    text = sheet_id.upper().replace(" ", "").replace("_", "").replace("–", "-")
    m = re.match(r"^([A-Z]{1,3})[-.]?(.*)$", text)
    return f"{m.group(1)}{m.group(2)}" if m else text


@dataclass
class _Token:
    text: str
    box: tuple[float, float, float, float]  # points
    size: float  # font size (or OCR word height), points


def _tokens_from_layer(page: pymupdf.Page) -> list[_Token]:
    tokens = []
    for w in page_words(page):
        tokens.append(_Token(w.text, (w.x0, w.y0, w.x1, w.y1), w.y1 - w.y0))
    return tokens


def _joined(tokens: list[_Token]) -> list[_Token]:
    """Also try neighbours on one line joined ("A-" "101", "E" "2.1"): OCR and some CADs split ids."""
    out = list(tokens)
    for a, b in zip(tokens, tokens[1:]):
        same_line = abs((a.box[1] + a.box[3]) - (b.box[1] + b.box[3])) / 2 < 0.5 * max(a.size, 1)
        gap = b.box[0] - a.box[2]
        if same_line and -1 < gap < 0.8 * max(a.size, b.size):
            out.append(_Token(a.text + b.text, (a.box[0], min(a.box[1], b.box[1]), b.box[2], max(a.box[3], b.box[3])),
                              max(a.size, b.size)))
    return out


def _clean(text: str, from_ocr: bool) -> str | None:
    text = text.strip().strip(",;:()[]")
    if from_ocr:
        m = OCR_ID.match(text.upper())
        if m:
            digits = m.group(3).replace("O", "0").replace("I", "1").replace("l", "1")
            text = f"{m.group(1)}{m.group(2)}{digits}{m.group(4)}"
    return text


def _near_label(token: _Token, tokens: list[_Token]) -> bool:
    x0, y0, x1, y1 = token.box
    reach = 3.5 * max(token.size, 6)
    for t in tokens:
        if t is token or not LABELS.match(t.text):
            continue
        tx0, ty0, tx1, ty1 = t.box
        above = ty1 <= y0 + 2 and y0 - ty1 < reach and tx0 < x1 + reach and tx1 > x0 - reach
        left = tx1 <= x0 + 2 and x0 - tx1 < reach and abs((ty0 + ty1) - (y0 + y1)) / 2 < token.size
        if above or left:
            return True
    return False


def _in_title_zone(box, width: float, height: float) -> float:
    """1 in the lower-right title-block corner, 0.7 in the right or bottom strip, else 0."""
    cx, cy = (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height
    if cx > 0.6 and cy > 0.7:
        return 1.0
    if cx > 0.85 or cy > 0.88:
        return 0.7
    return 0.0


def best_sheet_name(tokens: list[_Token], width: float, height: float, source: str) -> SheetName:
    if not tokens:
        return SheetName(None, None, "none")
    biggest = max(t.size for t in tokens) or 1.0
    best: SheetName | None = None
    for token in _joined(tokens):
        text = _clean(token.text, source == "ocr")
        if not text or text.upper() in NOT_IDS:
            continue
        strong = bool(STRONG_ID.match(text)) and any(c.isdigit() for c in text)
        weak = not strong and bool(WEAK_NUMBER.match(text))
        if not strong and not weak:
            continue
        zone, labelled = _in_title_zone(token.box, width, height), _near_label(token, tokens)
        if weak and not (labelled and zone):
            continue
        cx, cy = (token.box[0] + token.box[2]) / 2 / width, (token.box[1] + token.box[3]) / 2 / height
        score = (3.0 if strong else 1.0) + 2.5 * zone + 2.0 * token.size / biggest + 2.0 * labelled + 0.5 * (cx + cy)
        if best is None or score > best.score:
            best = SheetName(text, normalise(text) if strong else None, source, round(score, 2), token.box)
    if best is not None and best.key is not None and best.score >= 5.0:
        return best
    sheet_of = _sheet_of(tokens)
    if sheet_of is not None:
        return SheetName(sheet_of, None, source, 1.0)
    return best or SheetName(None, None, source)


def _sheet_of(tokens: list[_Token]) -> str | None:
    line = " ".join(t.text for t in tokens)
    m = SHEET_OF.search(line)
    return f"Sheet {m.group(1)} of {m.group(2)}" if m else None


# ------------------------------------------------------------------------------------------- OCR


class TesseractMissing(RuntimeError):
    pass


def tesseract_words(gray, *, timeout: float = OCR_TIMEOUT, psm: int = 11) -> list[tuple[str, tuple[int, int, int, int], float]]:
    """(text, (x0, y0, x1, y1) pixels, confidence) of each word Tesseract reads in a grey picture.
    One Tesseract process, one thread (OMP_THREAD_LIMIT=1: its own threads are slower here)."""
    import cv2

    exe = shutil.which("tesseract")
    if exe is None:
        raise TesseractMissing("tesseract is not installed (Debian package tesseract-ocr)")
    ok, png = cv2.imencode(".png", gray)
    proc = subprocess.run([exe, "stdin", "stdout", "-l", "eng", "--psm", str(psm), "tsv"], input=png.tobytes(),
                          capture_output=True, timeout=timeout, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
    if proc.returncode != 0:
        raise RuntimeError(f"tesseract failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    words = []
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or not cols[11].strip():
            continue
        left, top, w, h, conf = int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9]), float(cols[10])
        words.append((cols[11].strip(), (left, top, left + w, top + h), conf))
    return words


def title_block_clips(page: pymupdf.Page) -> list[pymupdf.Rect]:
    """Where a title block usually is: the lower-right corner, then the right-hand strip."""
    import pymupdf  # when a drawing is read, not at code-location load (48 MiB)

    r = page.rect
    cw = min(0.45 * r.width, TITLE_BLOCK_MAX_INCHES[0] * 72)
    ch = min(0.35 * r.height, TITLE_BLOCK_MAX_INCHES[1] * 72)
    strip_w = min(0.18 * r.width, 4.5 * 72)
    return [pymupdf.Rect(r.x1 - cw, r.y1 - ch, r.x1, r.y1), pymupdf.Rect(r.x1 - strip_w, r.y0, r.x1, r.y1 - ch)]


def _tokens_from_ocr(gray, clip: pymupdf.Rect, dpi: int) -> list[_Token]:
    scale = 72.0 / dpi
    tokens = []
    for text, (x0, y0, x1, y1), conf in tesseract_words(gray):
        if conf < 30:
            continue
        box = (clip.x0 + x0 * scale, clip.y0 + y0 * scale, clip.x0 + x1 * scale, clip.y0 + y1 * scale)
        tokens.append(_Token(text, box, (y1 - y0) * scale))
    return tokens


def ocr_tokens(page: pymupdf.Page, clip: pymupdf.Rect, dpi: int = OCR_DPI) -> list[_Token]:
    return _tokens_from_ocr(render_clip(page, clip, dpi), clip, dpi)


def text_layer_name(page: pymupdf.Page) -> SheetName | None:
    """The sheet id from the text layer, or None when the page must be read by OCR."""
    if text_chars(page) >= MIN_TEXT_CHARS:
        found = best_sheet_name(_tokens_from_layer(page), page.rect.width, page.rect.height, "text")
        if found.name:
            return found
    return None


def sheet_name(page: pymupdf.Page, *, ocr: bool = True) -> SheetName:
    """The sheet id of a page: text layer first; Tesseract on the title block when there is no text."""
    found = text_layer_name(page)
    if found is not None:
        return found
    if not ocr:
        return SheetName(None, None, "none")
    return ocr_sheet_names([page])[0]


def ocr_sheet_names(pages: list[pymupdf.Page], workers: int | None = None) -> list[SheetName]:
    """Title-block OCR of many pages: the clips are rendered here (PyMuPDF wants one thread per
    document), Tesseract reads them in parallel, one process per core; the right-hand strip is read
    only for pages whose corner held no sheet id."""
    from concurrent.futures import ThreadPoolExecutor

    workers = workers or os.cpu_count() or 1
    seen: list[list[_Token]] = [[] for _ in pages]
    found = [SheetName(None, None, "ocr") for _ in pages]
    todo = list(range(len(pages)))
    for step in range(2):  # 0: lower-right corner, 1: right-hand strip
        clips = {i: title_block_clips(pages[i])[step] for i in todo}
        images = {i: render_clip(pages[i], clips[i], OCR_DPI) for i in todo}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            tokens = dict(zip(todo, pool.map(lambda i: _tokens_from_ocr(images[i], clips[i], OCR_DPI), todo)))
        for i in todo:
            seen[i] += tokens[i]
            found[i] = best_sheet_name(seen[i], pages[i].rect.width, pages[i].rect.height, "ocr")
        todo = [i for i in todo if not found[i].key]
        if not todo:
            break
    return found


def words_for(page: pymupdf.Page, scale: float) -> list[Word]:
    return page_words(page, scale)
