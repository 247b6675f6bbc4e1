"""A reference list's lines → its entries.

Numbered lists split where the next number in sequence starts a line ([1] [2] …, 1. 2. …, (1),
1), or a bare 1 2 …): a line starting with some other number ("21 (3): 434–464") is a continuation.
Unnumbered lists split by hanging indent when the text keeps indentation, by blank lines when the
OCR engine separated entries, else where a line starts with an author ("Smith, J.", "Smith JA,",
"J. Smith", "———") right after a line that ended an entry. Lines are then joined: a word broken by
a hyphen at a line end is mended, a DOI or URL broken after a slash or dot is closed up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline_project.defs.bibliography.layout import Line
from pipeline_project.defs.bibliography.signals import AUTHOR_START, DOI, URL, YEAR, is_prose_line

MARKERS = {
    "bracket": re.compile(r"^[\[{(]\s*([0-9lIO]{1,3})\s*[\]})]\s*"),  # [1] (1); OCR reads 1 as l or I
    "dot": re.compile(r"^(\d{1,3})\.\s+(?=\S)"),
    "paren": re.compile(r"^(\d{1,3})\)\s+"),
    "plain": re.compile(r"^(\d{1,3})\s+(?=[A-ZÀ-ÞА-Я])"),
}
_OCR_DIGITS = str.maketrans("lIO", "110")
PARTIAL_ID = re.compile(r"(?:^|doi:?)10\.\d*/?$|^https?:/*\S*$", re.I)  # "doi:10." + "1234/abc"
_ENDS_ENTRY = re.compile(r"(?:[.)\]»”\"]|\d{4}[a-z]?|\d+)\s*$")


@dataclass
class Entry:
    text: str
    page: int
    number: int | None = None
    lines: int = 1
    last_page: int | None = None  # an entry may run over a page break


def marker(style: str, text: str) -> tuple[int, int] | None:
    """(number, length of the marker) when `text` starts with a marker of this style."""
    m = MARKERS[style].match(text)
    if not m:
        return None
    digits = m.group(1).translate(_OCR_DIGITS)
    return (int(digits), m.end()) if digits.isdigit() else None


def numbered_starts(lines: list[Line], style: str, any_start: bool = True) -> list[int]:
    """Indexes of lines that continue the sequence 1, 2, 3 … (a gap of up to two numbers is
    tolerated: OCR sometimes loses a marker)."""
    starts: list[int] = []
    expected = None
    for i, line in enumerate(lines):
        found = marker(style, line.text)
        if found is None:
            continue
        n = found[0]
        if expected is None:
            if not (n <= 3 or (any_start and n < 500)):
                continue
        elif not expected <= n <= expected + 2:
            continue
        starts.append(i)
        expected = n + 1
    return starts


def best_numbering(lines: list[Line], any_start: bool = True) -> tuple[str | None, list[int]]:
    best: tuple[str | None, list[int]] = (None, [])
    for style in MARKERS:
        starts = numbered_starts(lines, style, any_start)
        if len(starts) > len(best[1]):
            best = (style, starts)
    style, starts = best
    if len(starts) >= 3 or (starts and starts[0] == 0 and len(starts) == sum(
            marker(style, ln.text) is not None for ln in lines)):
        return best
    return None, []


def _hanging_starts(lines: list[Line]) -> list[int] | None:
    base = min(ln.indent for ln in lines)
    flush = [i for i, ln in enumerate(lines) if ln.indent < base + 2]
    indented = len(lines) - len(flush)
    if indented < 0.15 * len(lines) or not flush:
        return None
    authors = sum(bool(AUTHOR_START.match(lines[i].text)) for i in flush)
    return flush if authors >= 0.6 * len(flush) else None


def _blank_starts(lines: list[Line]) -> list[int] | None:
    """Entries separated by blank lines (OCR engines print paragraphs so)."""
    starts = [i for i, ln in enumerate(lines) if i == 0 or ln.blank_before]
    authors = sum(bool(AUTHOR_START.match(lines[i].text)) for i in starts)
    dense = len(starts) >= max(3, len(lines) / 8)  # not a few blank lines in a long run of entries
    return starts if dense and authors >= 0.7 * len(starts) else None


def _author_starts(lines: list[Line]) -> list[int]:
    starts = [0]
    for i in range(1, len(lines)):
        prev = lines[i - 1].text
        if AUTHOR_START.match(lines[i].text) and (_ENDS_ENTRY.search(prev) or DOI.search(prev.split()[-1])):
            starts.append(i)
    return starts


def author_year_starts(lines: list[Line]) -> list[int]:
    return _hanging_starts(lines) or _blank_starts(lines) or _author_starts(lines)


def _tail_token(text: str) -> str:
    return text.rsplit(None, 1)[-1] if text.strip() else ""


def join_lines(texts: list[str]) -> str:
    """One entry's lines as one string: hyphenation mended, broken DOIs and URLs closed up."""
    out = ""
    for text in texts:
        text = text.strip()
        if not out:
            out = text
            continue
        tail = _tail_token(out)
        broken_id = (DOI.search(tail) or URL.search(tail) or PARTIAL_ID.search(tail)) and (
            tail[-1] in "/.-_=?&#" or not re.match(r"[A-ZÀ-Þ][a-zà-ÿ]", text))
        if broken_id:
            out += text
        elif re.search(r"[a-zà-ÿß]-$", out) and re.match(r"[a-zà-ÿß]", text):
            out = out[:-1] + text  # "struc-" + "tures" → "structures"
        elif re.search(r"\w-$", out):
            out += text  # "Müller-" + "Lüdenscheidt" keeps its hyphen
        else:
            out += " " + text
    return re.sub(r"\s+", " ", out).strip()


def _without_prose(chunk: list[Line]) -> list[Line]:
    """An entry ends where two lines of running text begin (the other column's body, a caption)."""
    for i in range(1, len(chunk) - 1):
        if is_prose_line(chunk[i].text) and is_prose_line(chunk[i + 1].text):
            return chunk[:i]
    return chunk


def entries_from(lines: list[Line], starts: list[int], number_style: str | None = None) -> list[Entry]:
    entries = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        chunk = _without_prose(lines[start:end])
        number = None
        if number_style:
            found = marker(number_style, chunk[0].text)
            number = found[0] if found else None
        entries.append(Entry(join_lines([ln.text for ln in chunk]), chunk[0].page, number, len(chunk),
                             chunk[-1].page))
    return entries


def split_entries(lines: list[Line], any_start: bool = True) -> tuple[str, list[Entry]]:
    """('numbered:<style>' or 'author-year', entries). Lines before the first entry are dropped."""
    if not lines:
        return "empty", []
    style, starts = best_numbering(lines, any_start)
    if style:
        return f"numbered:{style}", entries_from(lines, starts, style)
    return "author-year", entries_from(lines, author_year_starts(lines))


def strip_marker(text: str) -> str:
    for style in MARKERS:
        found = marker(style, text)
        if found:
            return text[found[1]:].lstrip()
    return text


def mentions_year(text: str) -> bool:
    return bool(YEAR.search(text))
