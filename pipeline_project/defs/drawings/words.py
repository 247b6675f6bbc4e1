"""Words of the two revisions of a sheet, compared in the old page's pixels.

A word of the old page is still there when the new page has the same text at (about) the same
place once registered; otherwise it was removed (or moved). Pixels decide whether a word change is
visible at all: a re-export can split or encode text differently while the page looks the same, so
diff.py only counts a word change where the renders differ inside that word's box.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from pipeline_project.defs.drawings.render import Word


def map_words(words: list[Word], matrix: np.ndarray) -> list[Word]:
    """Words of the new page expressed in old-page pixels (matrix: new -> old, 2x3)."""
    out = []
    for w in words:
        corners = np.array([[w.x0, w.y0, 1], [w.x1, w.y0, 1], [w.x0, w.y1, 1], [w.x1, w.y1, 1]]) @ matrix.T
        out.append(Word(float(corners[:, 0].min()), float(corners[:, 1].min()),
                        float(corners[:, 0].max()), float(corners[:, 1].max()), w.text))
    return out


@dataclass
class WordChanges:
    removed: list[Word]  # old words with no same word nearby in the new page
    added: list[Word]  # new words (old-page pixels) with no same word nearby in the old page


def compare_words(old: list[Word], new_in_old: list[Word], tolerance_px: float) -> WordChanges:
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(new_in_old):
        by_text[w.text].append(i)
    used: set[int] = set()
    removed = []
    for w in old:
        cx, cy = w.center
        reach = max(tolerance_px, 0.5 * (w.y1 - w.y0))
        best, best_d = None, None
        for i in by_text.get(w.text, ()):
            if i in used:
                continue
            nx, ny = new_in_old[i].center
            d = max(abs(nx - cx), abs(ny - cy))
            if d <= reach and (best_d is None or d < best_d):
                best, best_d = i, d
        if best is None:
            removed.append(w)
        else:
            used.add(best)
    return WordChanges(removed, [w for i, w in enumerate(new_in_old) if i not in used])


def inside(box: tuple[float, float, float, float], words: list[Word], pad: float = 0.0) -> list[Word]:
    """Words touching the box (grown by pad), in reading order: a changed digit marks a few pixels
    of its word, and the whole word is what changed."""
    x0, y0, x1, y1 = box
    hits = [w for w in words if w.x0 <= x1 + pad and w.x1 >= x0 - pad and w.y0 <= y1 + pad and w.y1 >= y0 - pad]
    return sorted(hits, key=lambda w: (round(w.y0 / max(w.y1 - w.y0, 1)), w.x0))


def box_mask(shape: tuple[int, int], box: tuple[float, float, float, float], pad: int = 0) -> tuple[slice, slice]:
    h, w = shape
    x0, y0, x1, y1 = box
    return (slice(max(0, int(y0) - pad), min(h, int(np.ceil(y1)) + pad)),
            slice(max(0, int(x0) - pad), min(w, int(np.ceil(x1)) + pad)))
