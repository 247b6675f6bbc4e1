"""Page text → one stream of lines in reading order, without page furniture.

The documents domain stores each page's text as its OCR engine read it. Born-digital pages come
from PyMuPDF's sorted text layer, which prints a two-column page side by side: the left column's
line, a run of spaces, the right column's line at the same height. Reading order is restored here
(left column, then right), keeping each line's indentation within its column, because hanging
indents are how many reference lists separate their entries. Running heads, page numbers and
footnotes are dropped: in a reference list they would otherwise be glued into the entries around
a page break.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

GAP = re.compile(r"(?<=\S)( {3,})(?=\S)")
PAGE_NUMBER = re.compile(r"^(?:page\s*|p\.\s*|seite\s*|[-–—]\s*)?\d{1,4}(?:\s*(?:of|/|von|de)\s*\d{1,4})?(?:\s*[-–—])?$", re.I)
FOOTNOTE_MARK = re.compile(r"^(?:[*†‡§¶]|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)\s*\S")
NUMBERED_NOTE = re.compile(r"^\d{1,2}\s*(?:corresponding|e-?mail|present address|received|accepted|published online|"
                           r"copyright|©|funding|supported by|tel\.|orcid|these authors contributed)\b", re.I)
EDGE = 3  # lines at the top and bottom of a page where running heads and page numbers live


@dataclass(frozen=True)
class Line:
    page: int
    text: str  # stripped
    indent: int  # leading spaces within its column
    blank_before: bool = False


def _right_start(lines: list[str]) -> float | None:
    """Where the right column starts (in characters), when the page has two columns side by side.

    PyMuPDF turns the distance between words into spaces using each word's own character width,
    so neither column edge sits at one fixed offset: a 10-point left column is fewer characters
    wide than an 8-point one, and the right column starts earlier after a short left line. The
    middle of the offsets where the rows' widest runs of spaces end is a good estimate."""
    body = [ln for ln in lines if ln.strip()]
    if len(body) < 5:
        return None
    width = sorted(len(ln.rstrip()) for ln in body)[int(0.9 * (len(body) - 1))]  # robust to a few long rows
    if width < 40:
        return None
    ends = []
    for ln in body:
        if len(ln) - len(ln.lstrip()) >= 0.2 * width:
            continue
        gaps = [m for m in GAP.finditer(ln) if m.end() >= 0.35 * width and m.start() > 0.15 * width]
        if gaps:
            ends.append(max(gaps, key=lambda m: len(m.group(1))).end())
    if len(ends) < 4 or len(ends) < 0.2 * len(body):
        return None
    return float(statistics.median(ends))


def _gutter(line: str, start: float):
    """The run of spaces between the two columns on this row, or None (only the left has text)."""
    gaps = [m for m in GAP.finditer(line) if m.end() >= 0.6 * start]
    gap = min(gaps, key=lambda m: abs(m.end() - start), default=None)
    later = [m for m in gaps if gap is not None and m.start() > gap.end()]
    if later and later[0].start() - gap.end() <= 2:
        gap = later[0]  # a lone "-" that ends a justified left line, then the right column
    return gap


def _document_start(lines: list[str], usual: float | None) -> float | None:
    """A page with only a few right-column rows (the end of a list) borrows the document's usual
    column start, when a row of it does show a gutter there."""
    if usual is None:
        return None
    near = [m for ln in lines for m in GAP.finditer(ln)
            if len(m.group(1)) >= 4 and abs(m.end() - usual) <= 0.2 * usual]
    return usual if near else None


def _split_columns(lines: list[str], usual: float | None = None) -> tuple[list, list] | None:
    """(left, right) row by row when the page reads as two columns printed side by side, else None.

    Rows stay aligned between the columns: "" is a blank row, None a row where only the other
    column has text (not a gap between entries)."""
    start = _right_start(lines) or _document_start(lines, usual)
    if start is None:
        return None
    left: list = []
    right: list = []
    for ln in lines:
        lead = len(ln) - len(ln.lstrip())
        if not ln.strip():
            left.append("")
            right.append("")
        elif lead >= 0.6 * start:  # only the right column has text on this row
            left.append(None)
            right.append(" " * max(0, lead - int(start)) + ln.strip())
        else:
            gap = _gutter(ln, start)
            left.append(ln[:gap.start()].rstrip() if gap else ln.rstrip())
            right.append(ln[gap.end():].rstrip() if gap else None)
    return left, right


def _rows(text: str) -> list[str]:
    return text.replace("\r", "").replace("\f", "\n").split("\n")


def _norm(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))


def _edges(rows: list[str]) -> list[int]:
    body = [i for i, ln in enumerate(rows) if ln.strip()]
    return body[:EDGE] + body[-EDGE:]


def running_lines(pages: list[list[str]]) -> set[str]:
    """Normalised rows that recur at the top or bottom of several pages: running heads and feet.
    Whole rows of the page as printed (before columns are unfolded), with at least two words."""
    if len(pages) < 2:
        return set()
    seen: Counter = Counter()
    for rows in pages:
        seen.update({_norm(rows[i]) for i in _edges(rows)})
    need = max(2, int(0.4 * len(pages)))
    return {k for k, n in seen.items() if n >= need and len(re.findall(r"[^\W\d_]{2,}", k)) >= 2}


def _without_furniture(rows: list[str], running: set[str]) -> list:
    """The page's rows with running heads and page numbers at its top and bottom gone (None)."""
    edges = set(_edges(rows))
    return [None if i in edges and (PAGE_NUMBER.match(ln.strip()) or _norm(ln) in running) else ln
            for i, ln in enumerate(rows)]


def _columns(rows: list, usual: float | None = None) -> list[list]:
    present = [ln for ln in rows if ln is not None]
    columns = _split_columns(present, usual)
    if columns is None:
        return [rows]
    # put the removed rows back as None in every column, so rows stay aligned
    left, right = iter(columns[0]), iter(columns[1])
    out_left, out_right = [], []
    for ln in rows:
        if ln is None:
            out_left.append(None)
            out_right.append(None)
        else:
            out_left.append(next(left))
            out_right.append(next(right))
    return [out_left, out_right]


def _drop_footnotes(lines: list) -> list:
    """A footnote block sits at the foot of a page: from a marked line near the end to the end."""
    body_idx = [i for i, ln in enumerate(lines) if ln and ln.strip()]
    for i in body_idx[-6:]:
        s = lines[i].strip()
        if FOOTNOTE_MARK.match(s) or NUMBERED_NOTE.match(s):
            return lines[:i]
    return lines


def reading_order(pages: list[tuple[int, str]]) -> list[Line]:
    """Every page's lines, furniture removed, columns unfolded, footnotes dropped, as one stream."""
    raw = [(no, _rows(text or "")) for no, text in pages]
    running = running_lines([rows for _, rows in raw])
    starts = [s for s in (_right_start(rows) for _, rows in raw) if s is not None]
    usual = statistics.median(starts) if starts else None  # the document's column start, if it has two
    stream: list[Line] = []
    for no, rows in raw:
        blank = False
        for column in _columns(_without_furniture(rows, running), usual):
            for ln in _drop_footnotes(column) + [""]:
                if ln is None:  # the other column's row, or furniture
                    continue
                if not ln.strip():
                    blank = True
                    continue
                stream.append(Line(no, ln.strip(), len(ln) - len(ln.lstrip()), blank))
                blank = False
    return stream
