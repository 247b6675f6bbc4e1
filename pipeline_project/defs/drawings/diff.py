"""Comparing two renders of one sheet: normalise tone, register, difference, group into regions.

1. Tone: each page is mapped to "ink" (0 = paper, 255 = full ink) from its own paper and ink levels,
   so a whole page rendered grey instead of black, on off-white, or in another colour space, is not
   a change of every pixel.
2. Registration (OpenCV, see register.py): the new page is warped onto the old one — quarter turns,
   shift, scale and small rotation — so a re-centred, re-scaled or slightly skewed sheet lines up.
3. Differencing with a tolerance: old ink with no new ink within `tolerance_px` is removed, new
   ink with no old ink nearby is added. Anti-aliasing and sub-pixel rendering noise stay inside
   the tolerance; specks smaller than `min_blob_px` are dropped (scanner noise).
4. Regions: changed pixels closer than `merge_px` are grouped; each group is one change with a box.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline_project.defs.drawings.register import Registration, register
from pipeline_project.defs.drawings.render import Word
from pipeline_project.defs.drawings.words import WordChanges, box_mask, compare_words, map_words

# Tuned at 220 dpi and scaled linearly with the actual dpi.
REFERENCE_DPI = 220
INK_THRESHOLD = 110  # ink level (0-255) above which a pixel counts as drawn


@dataclass
class DiffSettings:
    dpi: int = REFERENCE_DPI
    tolerance_px: float = 3.0  # widest misregistration / anti-aliasing tolerance at 220 dpi (~0.35 mm)
    noise_fraction: float = 0.0005  # share of ink allowed to disagree outside real changes
    min_blob_px: float = 4.0  # smallest changed blob (pixels at 220 dpi) that counts
    merge_px: float = 28.0  # changed pixels closer than this (~3 mm) are one change
    min_region_px: float = 16.0  # smallest region (changed pixels at 220 dpi) reported
    scan_min_region_px: float = 80.0  # the same when a page is a scan (dust and toner specks)
    min_word_px: int = 3  # a text-layer word change counts once this many of its pixels differ

    def scaled(self, value: float, area: bool = False) -> int:
        factor = self.dpi / REFERENCE_DPI
        return max(1, int(round(value * (factor * factor if area else factor))))


@dataclass
class Region:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in old-page pixels
    added_px: int
    removed_px: int

    def as_dict(self) -> dict:
        return {"box": list(self.box), "added_px": self.added_px, "removed_px": self.removed_px}


@dataclass
class PageDiff:
    regions: list[Region]
    registration: Registration
    tolerance_px: int
    added: np.ndarray = field(repr=False)  # bool masks in old-page pixels
    removed: np.ndarray = field(repr=False)
    words: WordChanges | None = None  # text-layer words removed/added (old-page pixels), when both have them
    base_ink: np.ndarray | None = field(default=None, repr=False)  # the page the overlay is drawn on, as ink

    @property
    def change_count(self) -> int:
        return len(self.regions)

    @property
    def changes_detected(self) -> bool:
        return bool(self.regions)


def to_ink(gray: np.ndarray) -> np.ndarray:
    """0 = paper, 255 = darkest ink, from the page's own paper and ink levels."""
    import cv2

    hist = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    paper = int(np.argmax(hist[128:]) + 128) if hist[128:].sum() else int(np.argmax(hist))
    cumulative = np.cumsum(hist)
    darkest = int(np.searchsorted(cumulative, max(1, int(0.002 * gray.size))))
    # A near-blank page has no real ink level: keep the full scale so faint specks stay faint.
    ink_level = darkest if paper - darkest >= 96 else max(0, paper - 255)
    span = max(paper - ink_level, 1)
    lut = np.clip((paper - np.arange(256)) * 255.0 / span, 0, 255).astype(np.uint8)
    return cv2.LUT(gray, lut)


def _drop_specks(mask: np.ndarray, min_px: int) -> np.ndarray:
    import cv2

    if not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_px
    return keep[labels]


def _mismatch(present: np.ndarray, other_faint: np.ndarray, radius: int) -> np.ndarray:
    """Pixels of `present` with no faint ink of the other page within `radius`."""
    import cv2

    if radius <= 0:
        return present & ~other_faint
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return present & (cv2.dilate(other_faint.astype(np.uint8), kernel) == 0)


def choose_tolerance(old_bin, new_bin, old_faint, new_faint, valid, settings: DiffSettings) -> int:
    """The smallest tolerance (1 px up to the configured one) at which the pages agree everywhere
    except around real changes. Two renders of the same vector file agree at 1 px, so a changed
    letter in a 2 mm dimension still shows; a scan or another program's re-plot needs more."""
    import cv2

    widest = settings.scaled(settings.tolerance_px)
    real = (_mismatch(old_bin, new_faint, widest) | _mismatch(new_bin, old_faint, widest)) & valid
    m = settings.scaled(settings.merge_px)
    around_real = cv2.dilate(real.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (m, m))) > 0
    budget = settings.noise_fraction * max(int(old_bin.sum() + new_bin.sum()), 1)
    for radius in range(1, widest):
        noise = (_mismatch(old_bin, new_faint, radius) | _mismatch(new_bin, old_faint, radius)) & valid
        if int((noise & ~around_real).sum()) <= budget:
            return radius
    return widest


def difference(old_ink: np.ndarray, new_ink_aligned: np.ndarray, valid: np.ndarray,
               settings: DiffSettings) -> tuple[np.ndarray, np.ndarray, int]:
    """(added, removed, tolerance used): ink in one page with no ink of the other nearby."""
    old_bin, new_bin = old_ink > INK_THRESHOLD, new_ink_aligned > INK_THRESHOLD
    # "Nearby" uses a lower threshold: a faint anti-aliased copy of a line still counts as present.
    old_faint, new_faint = old_ink > INK_THRESHOLD // 3, new_ink_aligned > INK_THRESHOLD // 3
    radius = choose_tolerance(old_bin, new_bin, old_faint, new_faint, valid, settings)
    added = _mismatch(new_bin, old_faint, radius) & valid
    removed = _mismatch(old_bin, new_faint, radius) & valid
    return added, removed, radius


def confirm_words(changes: WordChanges, added_raw: np.ndarray, removed_raw: np.ndarray, radius: int,
                  settings: DiffSettings) -> np.ndarray:
    """Pixels of changed words that the renders confirm: kept however small (a changed digit in a
    dimension is a few pixels, and exactly what a reviewer looks for)."""
    forced = np.zeros_like(added_raw)
    for w in changes.removed + changes.added:
        sl = box_mask(added_raw.shape, (w.x0, w.y0, w.x1, w.y1), pad=radius + 1)
        changed = added_raw[sl] | removed_raw[sl]
        if int(changed.sum()) >= settings.min_word_px:
            forced[sl] |= changed
    return forced


def group_regions(added: np.ndarray, removed: np.ndarray, settings: DiffSettings, forced: np.ndarray | None = None,
                  min_region_px: float | None = None) -> list[Region]:
    import cv2

    changed = (added | removed).astype(np.uint8)
    if not changed.any():
        return []
    m = settings.scaled(settings.merge_px)
    grown = cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_RECT, (m, m)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    min_px = settings.scaled(min_region_px or settings.min_region_px, area=True)
    regions = []
    for label in range(1, n):
        x, y, w, h = stats[label, :4]
        inside = labels[y:y + h, x:x + w] == label
        a = int((added[y:y + h, x:x + w] & inside).sum())
        rm = int((removed[y:y + h, x:x + w] & inside).sum())
        if a + rm < min_px and not (forced is not None and forced[y:y + h, x:x + w][inside].any()):
            continue
        ys, xs = np.nonzero(changed[y:y + h, x:x + w] & inside)
        regions.append(Region((int(x + xs.min()), int(y + ys.min()), int(x + xs.max()) + 1, int(y + ys.max()) + 1),
                              a, rm))
    # reading order: top to bottom, then left to right (in bands of the merge distance)
    regions.sort(key=lambda r: (r.box[1] // max(m * 4, 1), r.box[0]))
    return regions


def compare_pages(old_gray: np.ndarray, new_gray: np.ndarray, settings: DiffSettings | None = None, *,
                  old_words: list[Word] | None = None, new_words: list[Word] | None = None,
                  scanned: bool = False) -> PageDiff:
    """Diff of two grey renders of the same sheet; regions are in old-page pixels. Words (each
    page's text layer in its own pixels) make small text edits count; `scanned` raises the size a
    change must have (a scan's specks are not edits)."""
    settings = settings or DiffSettings()
    old_ink, new_ink = to_ink(old_gray), to_ink(new_gray)
    reg = register(old_ink, new_ink)
    aligned, valid = reg.warp(new_ink, old_ink.shape)
    added_raw, removed_raw, radius = difference(old_ink, aligned, valid, settings)
    min_blob = settings.scaled(settings.min_blob_px, area=True)
    added, removed = _drop_specks(added_raw, min_blob), _drop_specks(removed_raw, min_blob)
    words, forced = None, None
    if old_words and new_words:
        words = compare_words(old_words, map_words(new_words, reg.matrix), radius + 1)
        forced = confirm_words(words, added_raw, removed_raw, radius, settings)
        added |= forced & added_raw
        removed |= forced & removed_raw
    min_region = settings.scan_min_region_px if scanned else settings.min_region_px
    regions = group_regions(added, removed, settings, forced, min_region)
    return PageDiff(regions, reg, radius, added, removed, words, old_ink)


def whole_page_change(gray: np.ndarray, settings: DiffSettings | None = None,
                      added: bool = True) -> PageDiff:
    """A sheet present in one revision only: all its ink is one added (or removed) change."""
    settings = settings or DiffSettings()
    page_ink = to_ink(gray)
    ink = page_ink > INK_THRESHOLD
    empty = np.zeros_like(ink)
    ys, xs = np.nonzero(ink)
    regions = []
    if len(xs):
        n = int(ink.sum())
        regions = [Region((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                          n if added else 0, 0 if added else n)]
    identity = Registration.identity()
    return PageDiff(regions, identity, 0, ink if added else empty, empty if added else ink, None, page_ink)
