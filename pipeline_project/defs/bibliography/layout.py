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


def _left_width(lines: list[str]) -> float | None:
    """How many characters wide the left column is, when the page has two columns printed side by side.

    PyMuPDF turns the distance between words into spaces using each word's own character width,
    so the right column does not start at one fixed offset. The left column's lines, justified,
    do end at nearly one offset: where the run of spaces before the right column begins."""
    body = [ln for ln in lines if ln.strip()]
    if len(body) < 5:
        return None
    width = sorted(len(ln.rstrip()) for ln in body)[int(0.9 * (len(body) - 1))]  # robust to a few long rows
    if width < 40:
        return None
    ends = []  # per row: where the left text stops before a run of spaces that ends past a third
    for ln in body:
        gap = next((m for m in GAP.finditer(ln) if m.end() >= 0.35 * width and m.start() > 0.2 * width), None)
        if gap is not None and len(ln) - len(ln.lstrip()) < 0.2 * width:
            ends.append(gap.start())
    if len(ends) < 4 or len(ends) < 0.2 * len(body):
        return None
    return float(statistics.median(ends))


def _split_columns(lines: list[str]) -> tuple[list, list] | None:
    """(left, right) row by row when the page reads as two columns printed side by side, else None.

    Rows stay aligned between the columns: "" is a blank row, None a row where only the other
    column has text (not a gap between entries)."""
    edge = _left_width(lines)
    if edge is None:
        return None
    left: list = []
    right: list = []
    for ln in lines:
        lead = len(ln) - len(ln.lstrip())
        if not ln.strip():
            left.append("")
            right.append("")
        elif lead >= edge - 2:  # only the right column has text on this row
            left.append(None)
            right.append(" " * max(0, lead - int(edge) - 4) + ln.strip())
        else:
            gaps = [m for m in GAP.finditer(ln) if m.end() >= edge - 2]
            gap = next((m for m in gaps if m.start() <= edge + 8), None)
            if gap is not None and len(gaps) > 1 and gaps[1].start() - gap.end() <= 2:
                gap = gaps[1]  # a lone "-" that ends a justified left line, then the right column
            left.append(ln[:gap.start()].rstrip() if gap else ln.rstrip())
            right.append(ln[gap.end():].rstrip() if gap else None)
    return left, right


def _columns(text: str) -> list[list[str]]:
    lines = text.replace("\r", "").replace("\f", "\n").split("\n")
    columns = _split_columns(lines)
    return [lines] if columns is None else list(columns)


def _norm(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))


def running_lines(pages: list[list]) -> set[str]:
    """Normalised lines that recur at the top or bottom of several pages: running heads and feet."""
    if len(pages) < 2:
        return set()
    seen: Counter = Counter()
    for lines in pages:
        body = [ln for ln in lines if ln and ln.strip()]
        seen.update({_norm(ln) for ln in body[:EDGE] + body[-EDGE:]})
    need = max(2, int(0.4 * len(pages)))
    return {k for k, n in seen.items() if n >= need and len(k) > 3}


def _drop_furniture(columns: list[list], running: set[str]) -> list:
    """The page's columns, one after the other, without running heads, page numbers, footnotes."""
    cells = [(c, i) for c, lines in enumerate(columns) for i, ln in enumerate(lines) if ln and ln.strip()]
    by_height = sorted(cells, key=lambda ci: ci[1])  # top and bottom of the page, whatever column
    edges = set(by_height[:EDGE] + by_height[-EDGE:])
    out: list = []
    for c, lines in enumerate(columns):
        kept = [None if (c, i) in edges and (PAGE_NUMBER.match(ln.strip()) or _norm(ln) in running) else ln
                for i, ln in enumerate(lines)]  # None: gone without leaving a gap
        out += _drop_footnotes(kept) + [""]
    return out


def _drop_footnotes(lines: list) -> list:
    """A footnote block sits at the foot of a page: from a marked line near the end to the end."""
    body_idx = [i for i, ln in enumerate(lines) if ln and ln.strip()]
    for i in body_idx[-6:]:
        s = lines[i].strip()
        if FOOTNOTE_MARK.match(s) or NUMBERED_NOTE.match(s):
            return lines[:i]
    return lines


def reading_order(pages: list[tuple[int, str]]) -> list[Line]:
    """Every page's lines, columns unfolded and furniture removed, as one stream."""
    split = [(no, _columns(text or "")) for no, text in pages]
    running = running_lines([[ln for col in cols for ln in col if ln] for _, cols in split])
    stream: list[Line] = []
    for no, lines in split:
        blank = False
        for ln in _drop_furniture(lines, running):
            if ln is None:  # the other column's row, or furniture
                continue
            if not ln.strip():
                blank = True
                continue
            stream.append(Line(no, ln.strip(), len(ln) - len(ln.lstrip()), blank))
            blank = False
    return stream
