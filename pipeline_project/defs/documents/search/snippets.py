"""Where in a hit the query matches: the page it is on, a snippet around it, the matched words marked."""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+", re.UNICODE)  # the same tokens as sql.TOKEN_PATTERN: letters and digits
SNIPPET_CHARS = 240
# common English words mark nothing: highlighting every "the" hides the words that matched
STOPWORDS = frozenset("a an and are as at be by for from has have in is it its of on or that the this to was "
                      "were will with".split())


def query_terms(query: str) -> set[str]:
    return {t.lower() for t in WORD.findall(query)}


def _normalised(text: str) -> str:
    return " ".join(t.lower() for t in WORD.findall(text))


def exact_page(query: str, pages: list[tuple[int, str]]) -> int | None:
    """The first page whose text holds the whole query (its words in order), if any."""
    needle = _normalised(query)
    if needle:
        for page, text in pages:
            if needle in _normalised(text):
                return page
    return None


def word_share(query: str, text: str) -> float:
    """The share of the query's (non-stop) words found in `text`."""
    terms = query_terms(query) - STOPWORDS or query_terms(query)
    return len(terms & query_terms(text)) / len(terms) if terms else 0.0


def best_page(query: str, pages: list[tuple[int, str]], default: int) -> int:
    """The page with the most query words. Ties and no overlap → `default` (the chunk's first page)."""
    if len(pages) < 2:
        return default
    terms = query_terms(query) - STOPWORDS or query_terms(query)
    scored = [(len(terms & {t.lower() for t in WORD.findall(text)}), -page, page) for page, text in pages]
    best = max(scored)
    return best[2] if best[0] else default


def _marks(text: str, terms: set[str]) -> list[tuple[int, int]]:
    return [m.span() for m in WORD.finditer(text) if m.group().lower() in terms]


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> tuple[str, list[list[int]]]:
    """A window of `text` with the most matched words, and [start, end) offsets of those words in it."""
    flat = " ".join(text.split())
    terms = query_terms(query) - STOPWORDS or query_terms(query)
    marks = _marks(flat, terms)
    start = 0
    if len(flat) > width and marks:
        best = max(range(len(marks)), key=lambda i: sum(1 for s, _ in marks[i:] if s < marks[i][0] + width))
        start = max(0, marks[best][0] - width // 6)
        space = flat.rfind(" ", 0, start + 1)
        start = space + 1 if space > 0 and start - space < 20 else start
    window = flat[start:start + width]
    cut = len(window) < len(flat) - start
    prefix = "…" if start else ""
    shift = len(prefix) - start
    spans = [[s + shift, e + shift] for s, e in marks if s >= start and e <= start + len(window)]
    return prefix + window + ("…" if cut else ""), spans


def on_terminal(snippet_text: str, spans: list[list[int]], colour: bool) -> str:
    """The snippet with matched words in bold yellow (ANSI) when writing to a terminal."""
    if not colour or not spans:
        return snippet_text
    out, last = [], 0
    for s, e in spans:
        out += [snippet_text[last:s], "\x1b[1;33m", snippet_text[s:e], "\x1b[0m"]
        last = e
    return "".join(out) + snippet_text[last:]
