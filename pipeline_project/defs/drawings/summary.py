"""What changed on a page, in words.

The facts come from the diff: each change region's place on the sheet ("title block", "upper
left"...) and the text removed and added inside it (text layer, or Tesseract on the region when the
page has none). A summarizer turns facts into a headline and a few lines. The default is local and
deterministic: the same facts always give the same words. Anything with a `summarize(facts)`
method can replace it; resources.py wires one that asks an LLM behind an OpenAI-compatible
chat-completions endpoint and falls back to the local words when that endpoint fails.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Protocol

MAX_QUOTE = 60
HEADLINE_REGIONS = 2


@dataclass
class RegionFacts:
    location: str
    box: tuple[float, float, float, float]  # fractions of the old page (0..1)
    removed_text: list[str] = field(default_factory=list)
    added_text: list[str] = field(default_factory=list)
    added_px: int = 0
    removed_px: int = 0


@dataclass
class PageFacts:
    drawing_name: str | None
    change_type: str  # "compared" | "added" | "removed"
    regions: list[RegionFacts] = field(default_factory=list)
    text_source: str = "text layer"  # where region text came from: "text layer" | "ocr" | "none"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Summary:
    headline: str
    text: str  # headline, then one line per change
    summarizer: str = "local"


class Summarizer(Protocol):
    name: str

    def summarize(self, facts: PageFacts) -> Summary: ...


def location(box: tuple[float, float, float, float], title_block: tuple[float, float, float, float] | None = None) -> str:
    """Where on the sheet a box (fractions of the page) lies, as a person would say it."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if title_block is not None:
        tx0, ty0, tx1, ty1 = title_block
        if tx0 <= cx <= tx1 and ty0 <= cy <= ty1:
            return "title block"
    elif cx > 0.62 and cy > 0.78:
        return "title block"
    if x1 - x0 > 0.8 and y1 - y0 > 0.8:
        return "whole sheet"
    vertical = "upper" if cy < 1 / 3 else "middle" if cy < 2 / 3 else "lower"
    horizontal = "left" if cx < 1 / 3 else "center" if cx < 2 / 3 else "right"
    return "center" if (vertical, horizontal) == ("middle", "center") else f"{vertical} {horizontal}"


def _quote(words: list[str]) -> str:
    text = " ".join(words)
    return f"'{text[:MAX_QUOTE - 1]}…'" if len(text) > MAX_QUOTE else f"'{text}'"


def describe(region: RegionFacts) -> str:
    """One phrase for one change region."""
    removed, added = Counter(region.removed_text), Counter(region.added_text)
    moved = removed & added
    removed_only = [w for w in region.removed_text if removed[w] > moved[w]]
    added_only = [w for w in region.added_text if added[w] > moved[w]]
    if removed_only and added_only:
        return f"{_quote(removed_only)} changed to {_quote(added_only)}"
    if added_only:
        return f"added {_quote(added_only)}"
    if removed_only:
        return f"removed {_quote(removed_only)}"
    if moved:
        return f"{_quote(list(moved.elements()))} moved"
    if region.added_px and region.removed_px:
        return "linework changed"
    return "linework added" if region.added_px else "linework removed"


class LocalSummarizer:
    """Deterministic words from the facts alone."""

    name = "local"

    def summarize(self, facts: PageFacts) -> Summary:
        sheet = facts.drawing_name or "This sheet"
        if facts.change_type == "added":
            headline = f"{sheet}: new sheet, not in the old revision"
            return Summary(headline, headline, self.name)
        if facts.change_type == "removed":
            headline = f"{sheet}: sheet removed, not in the new revision"
            return Summary(headline, headline, self.name)
        if not facts.regions:
            headline = f"{sheet}: no changes"
            return Summary(headline, headline, self.name)
        lines = [f"{describe(r)} ({r.location})" for r in facts.regions]
        n = len(facts.regions)
        shown = "; ".join(lines[:HEADLINE_REGIONS])
        more = f"; and {n - HEADLINE_REGIONS} more" if n > HEADLINE_REGIONS else ""
        headline = f"{sheet}: {n} change{'s' if n != 1 else ''} — {shown}{more}"
        return Summary(headline, "\n".join([headline] + [f"- {line}" for line in lines]), self.name)
