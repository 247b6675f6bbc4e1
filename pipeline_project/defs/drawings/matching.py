"""Which new page is which old page.

1. Sheet ids: a strong id (A-101) found once in each revision pairs those pages, wherever they are.
2. The rest, in page order: an order-keeping alignment (like a text diff) that pairs pages only when
   they look alike (thumbnail correlation ≥ threshold) and never pairs two different strong ids.
3. What is left was added (new only) or removed (old only): reported, never diffed against an
   unrelated sheet.

The result is the comparison's page list: the new set's order, each removed sheet placed after the
page that follows its old predecessor.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pymupdf

THUMB_DPI = 10
THUMB_SIZE = (160, 120)  # w, h: every thumbnail is compared at this size, landscape
SIMILAR = 0.35  # sheet-specific content (the set's common frame removed) correlating this much
SIMILAR_RAW = 0.8  # whole thumbnails correlating this much, when a set is too small to find its frame


@dataclass
class PageIndex:
    index: int  # 0-based page in its file
    key: str | None  # strong sheet id, normalised
    thumb: np.ndarray | None = None


@dataclass
class Match:
    old: int | None  # 0-based page indexes
    new: int | None
    method: str  # "sheet id" | "page order" | "visual similarity" | "added" | "removed"
    similarity: float | None = None

    @property
    def change_type(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "compared"

    def as_dict(self) -> dict:
        return asdict(self)


def thumbnail(page: pymupdf.Page) -> np.ndarray:
    """A small float picture of the page's ink, landscape, normalised for correlation."""
    import cv2
    import pymupdf

    from pipeline_project.defs.drawings.diff import to_ink

    pix = page.get_pixmap(dpi=THUMB_DPI, colorspace=pymupdf.csGRAY, alpha=False)
    gray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
    if gray.shape[0] > gray.shape[1]:
        gray = np.ascontiguousarray(np.rot90(gray))
    small = cv2.resize(to_ink(gray), THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 0 else small


def similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return 0.0
    return float((a * b).sum())


def _anchors(old: list[PageIndex], new: list[PageIndex]) -> dict[int, int]:
    """old index -> new index for strong ids found exactly once on each side."""
    old_counts = Counter(p.key for p in old if p.key)
    new_counts = Counter(p.key for p in new if p.key)
    new_by_key = {p.key: p.index for p in new if p.key and new_counts[p.key] == 1}
    return {p.index: new_by_key[p.key] for p in old
            if p.key and old_counts[p.key] == 1 and p.key in new_by_key}


def _without_frame(pages: list[PageIndex]) -> dict[int, np.ndarray | None]:
    """Each thumbnail minus the set's average: the border, grid and title block every sheet of a set
    shares would make any two sheets look alike."""
    thumbs = [p.thumb for p in pages if p.thumb is not None]
    if len(thumbs) < 4:
        return {id(p): p.thumb for p in pages}
    frame = np.mean(thumbs, axis=0)
    out = {}
    for p in pages:
        if p.thumb is None:
            out[id(p)] = None
            continue
        rest = p.thumb - frame
        norm = float(np.linalg.norm(rest))
        out[id(p)] = rest / norm if norm > 0 else rest
    return out


def _align(old: list[PageIndex], new: list[PageIndex], all_pages: list[PageIndex]) -> list[tuple[int, int, float]]:
    """Order-keeping pairs maximising the summed similarity above the threshold."""
    n, m = len(old), len(new)
    specific = _without_frame(all_pages)
    threshold = SIMILAR if len(all_pages) >= 4 else SIMILAR_RAW
    sims = np.array([[similarity(specific[id(a)], specific[id(b)]) for b in new] for a in old]).reshape(n, m)
    allowed = np.array([[sims[i, j] >= threshold and not (a.key and b.key and a.key != b.key)
                         for j, b in enumerate(new)] for i, a in enumerate(old)], dtype=bool).reshape(n, m)
    gain = np.where(allowed, sims - threshold + 1e-3, -np.inf)
    best = np.zeros((n + 1, m + 1))
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i, j] = max(best[i + 1, j], best[i, j + 1], gain[i, j] + best[i + 1, j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if gain[i, j] > -np.inf and np.isclose(best[i, j], gain[i, j] + best[i + 1, j + 1]):
            pairs.append((old[i].index, new[j].index, float(sims[i, j])))
            i, j = i + 1, j + 1
        elif np.isclose(best[i, j], best[i + 1, j]):
            i += 1
        else:
            j += 1
    return pairs


def match_pages(old: list[PageIndex], new: list[PageIndex]) -> list[Match]:
    anchors = _anchors(old, new)
    by_new: dict[int, Match] = {}
    for o, n in anchors.items():
        by_new[n] = Match(o, n, "sheet id", round(similarity(old[o].thumb, new[n].thumb), 4))
    rest_old = [p for p in old if p.index not in anchors]
    rest_new = [p for p in new if p.index not in by_new]
    same_shape = len(old) == len(new)
    for o, n, sim in _align(rest_old, rest_new, old + new):
        method = "page order" if same_shape and o == n else "visual similarity"
        by_new[n] = Match(o, n, method, round(sim, 4))
    matched_old = {m.old for m in by_new.values()}
    removed = [p.index for p in old if p.index not in matched_old]
    result: list[Match] = []
    for p in new:
        match = by_new.get(p.index) or Match(None, p.index, "added")
        if match.old is not None:
            while removed and removed[0] < match.old:
                result.append(Match(removed.pop(0), None, "removed"))
        result.append(match)
    result += [Match(i, None, "removed") for i in removed]
    return result
