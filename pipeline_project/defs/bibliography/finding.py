"""Where the reference lists of a document are.

1. Every line that is a reference-list heading opens a region, which runs to the next such heading,
   a section that follows lists (appendix, acknowledgements, next chapter), or the start of a run
   of prose. The region is split into entries and kept only if most entries look like references:
   a "Bibliography" table row or a section about citing opens a region that fails this test.
2. Outside those, a numbered run that starts at 1 and whose entries look like references is a list
   without a heading.
A document with neither has no reference list: nothing is returned rather than guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline_project.defs.bibliography.headings import heading_in, numbered_section_heading, stop_heading
from pipeline_project.defs.bibliography.layout import Line
from pipeline_project.defs.bibliography.signals import is_prose_line, reference_likeness
from pipeline_project.defs.bibliography.splitting import (
    MARKERS,
    Entry,
    entries_from,
    marker,
    numbered_starts,
    split_entries,
)

MIN_SHARE = 0.6  # of the first entries that must look like references
PROSE_RUN = 3  # this many prose lines in a row end a list
MAX_MARKER_GAP = 15  # lines between two numbered entries before a numbered run is over


@dataclass
class FoundList:
    heading: str | None
    style: str
    entries: list[Entry]
    pages: list[int] = field(default_factory=list)
    start: int = 0  # line index in the stream
    end: int = 0


def _prose_line(line: Line) -> bool:
    return is_prose_line(line.text)


def _heading_like(text: str) -> bool:
    return len(text) < 90 and not re.search(r"[.,;:]$", text) and reference_likeness(text) < 2.0


def region_end(stream: list[Line], start: int, limit: int) -> int:
    run = 0
    for j in range(start, limit):
        text = stream[j].text
        if stop_heading(text) or (numbered_section_heading(text) and j + 1 < limit and _prose_line(stream[j + 1])):
            return j
        run = run + 1 if _prose_line(stream[j]) else 0
        if run >= PROSE_RUN:
            end = j - PROSE_RUN + 1
            if end > start and _heading_like(stream[end - 1].text):
                end -= 1  # the unnamed heading of the prose that follows ("A. Proofs of …")
            return end
    return limit


def trim(entries: list[Entry]) -> list[Entry]:
    """Drop leading and trailing entries that are not references (an intro sentence, a caption)."""
    likeness = [reference_likeness(e.text) >= 2.0 for e in entries]
    if True not in likeness:
        return []
    first = likeness.index(True)
    last = len(likeness) - 1 - likeness[::-1].index(True)
    return entries[first:last + 1]


def acceptable(entries: list[Entry]) -> bool:
    head = entries[:12]
    if not head:
        return False
    share = sum(reference_likeness(e.text) >= 2.0 for e in head) / len(head)
    return share >= MIN_SHARE


def _pages(heading_page: int | None, entries: list[Entry]) -> list[int]:
    pages = {p for e in entries for p in range(e.page, (e.last_page or e.page) + 1)}
    if heading_page is not None:
        pages.add(heading_page)
    return sorted(pages)


def headed_lists(stream: list[Line]) -> list[FoundList]:
    heads = [i for i, ln in enumerate(stream) if heading_in(ln.text)]
    found = []
    for k, i in enumerate(heads):
        limit = heads[k + 1] if k + 1 < len(heads) else len(stream)
        end = region_end(stream, i + 1, limit)
        style, entries = split_entries(stream[i + 1:end])
        entries = entries if style.startswith("numbered") else trim(entries)  # numbers are evidence enough
        if acceptable(entries):
            found.append(FoundList(heading_in(stream[i].text), style, entries,
                                   _pages(stream[i].page, entries), i, end))
    return found


def _run_end(starts: list[int]) -> list[int]:
    """Cut a numbered run where two markers are too far apart (a body enumeration, then the list)."""
    kept = starts[:1]
    for s in starts[1:]:
        if s - kept[-1] > MAX_MARKER_GAP:
            break
        kept.append(s)
    return kept


def _candidate(stream: list[Line], i: int, style: str, stop: int) -> FoundList | None:
    segment = stream[i:stop]
    starts = _run_end(numbered_starts(segment, style, any_start=False))
    if len(starts) < 3:
        return None
    end = region_end(segment, starts[-1] + 1, len(segment))
    entries = entries_from(segment[:end], starts, style)
    if len(entries) < 3 or not acceptable(entries):
        return None
    return FoundList(None, f"numbered:{style}", entries, _pages(None, entries), i, i + end)


def unheaded_lists(stream: list[Line], taken: list[range]) -> list[FoundList]:
    """Numbered runs starting at 1 outside the headed lists; where runs overlap (in-text citations
    such as "[1] showed …" also start lines), the run with more reference-like entries wins."""
    inside = {i for r in taken for i in r}
    candidates = []
    for i, line in enumerate(stream):
        if i in inside:
            continue
        stop = next((j for j in range(i, len(stream)) if j in inside), len(stream))
        for style in MARKERS:
            hit = marker(style, line.text)
            if hit and hit[0] == 1:
                found = _candidate(stream, i, style, stop)
                if found:
                    candidates.append(found)
    chosen: list[FoundList] = []
    for cand in sorted(candidates, key=lambda f: -sum(reference_likeness(e.text) >= 2.0 for e in f.entries)):
        if all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)
    return chosen


def find_lists(stream: list[Line]) -> list[FoundList]:
    """Every reference list of the document, in reading order."""
    lists = headed_lists(stream)
    lists += unheaded_lists(stream, [range(f.start, f.end) for f in lists])
    return sorted(lists, key=lambda f: f.start)
