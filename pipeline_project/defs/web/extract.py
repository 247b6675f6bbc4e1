"""Main-text extraction: trafilatura finds the article and drops navigation, sidebars and footers.

Pages where trafilatura finds no main text (very short pages, link lists) fall back to its
whole-page text baseline, so a page is only skipped when it has no readable text at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_TEXT_CHARS = 20  # fewer readable characters than this: nothing worth embedding
_WS = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    method: str  # trafilatura | baseline


def _tidy(text: str) -> str:
    lines = [_WS.sub(" ", line).strip() for line in text.splitlines()]
    out, blank = [], False
    for line in lines:
        if line:
            out.append(line)
            blank = False
        elif not blank and out:
            out.append("")
            blank = True
    return "\n".join(out).strip()


def _title_of(html: str, metadata) -> str:
    title = getattr(metadata, "title", None) if metadata is not None else None
    if title:
        return title.strip()
    match = re.search(r"<title[^>]*>(.*?)</title>", html, re.I | re.S)
    return re.sub(r"\s+", " ", match.group(1)).strip() if match else ""


def extract_main_text(html: str, url: str | None = None) -> Extracted:
    """The page's title and main text. Raises nothing on odd HTML: at worst returns empty text."""
    import trafilatura
    from trafilatura.metadata import extract_metadata

    try:
        metadata = extract_metadata(html, default_url=url)
    except Exception:  # metadata is a nicety; a malformed head must not lose the page
        metadata = None
    title = _title_of(html, metadata)
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                               favor_recall=True, deduplicate=False, with_metadata=False) or ""
    method = "trafilatura"
    if len(text.strip()) < MIN_TEXT_CHARS:
        text, method = trafilatura.html2txt(html) or "", "baseline"
    return Extracted(title=title, text=_tidy(text), method=method)


def readable_share(text: str) -> float:
    """Share of letters, digits, punctuation and spaces (U+FFFD and control characters are not)."""
    if not text:
        return 0.0
    good = sum(1 for ch in text if (ch.isprintable() or ch in "\n\t") and ch != "\ufffd")
    return good / len(text)
