"""The facts a summary is written from, rebuilt from what the diff stage stored (so a summary can
be written in a later run than its diff): each region's place, and the text removed and added in it,
from the text layers when both pages have one, else from Tesseract reading the region on each page."""

from __future__ import annotations

from collections import Counter

import numpy as np

from pipeline_project.defs.drawings.render import Word
from pipeline_project.defs.drawings.summary import PageFacts, RegionFacts, location
from pipeline_project.defs.drawings.words import compare_words, inside, map_words

MAX_OCR_REGIONS = 8  # OCR the largest regions only: ~0.3 s each
MAX_OCR_REGION_FRACTION = 0.25  # a region covering more of the page than this is not read word by word
REGION_PAD_PX = 6


def _box_fraction(box, shape) -> tuple[float, float, float, float]:
    h, w = shape[:2]
    return (box[0] / w, box[1] / h, box[2] / w, box[3] / h)


def _ocr_text(gray: np.ndarray, box) -> list[str]:
    from pipeline_project.defs.drawings.sheets import tesseract_words

    x0, y0, x1, y1 = (int(round(v)) for v in box)
    h, w = gray.shape[:2]
    crop = gray[max(0, y0 - REGION_PAD_PX):min(h, y1 + REGION_PAD_PX), max(0, x0 - REGION_PAD_PX):min(w, x1 + REGION_PAD_PX)]
    if crop.size == 0 or min(crop.shape) < 8:
        return []
    return [t for t, _, conf in tesseract_words(crop, psm=6) if conf >= 40 and any(c.isalnum() for c in t)]


def _ocr_changes(old_gray, new_gray, region_box, matrix) -> tuple[list[str], list[str]]:
    """Words Tesseract reads in the region on each page; the multiset differences."""
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    x0, y0, x1, y1 = region_box
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], float) @ inverse.T
    new_box = (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
    old_words, new_words = Counter(_ocr_text(old_gray, region_box)), Counter(_ocr_text(new_gray, new_box))
    return list((old_words - new_words).elements()), list((new_words - old_words).elements())


def page_facts(drawing_name: str | None, change_type: str, regions: list[dict], shape: tuple[int, int], *,
               matrix: np.ndarray | None = None, tolerance_px: int = 1,
               old_words: list[Word] | None = None, new_words: list[Word] | None = None,
               old_gray: np.ndarray | None = None, new_gray: np.ndarray | None = None) -> PageFacts:
    """regions: the stored boxes ({box, added_px, removed_px}, old-page pixels)."""
    facts = PageFacts(drawing_name, change_type, text_source="none")
    if change_type != "compared" or not regions:
        facts.regions = [RegionFacts("whole sheet" if change_type != "compared" else location(_box_fraction(r["box"], shape)),
                                     _box_fraction(r["box"], shape), added_px=r["added_px"], removed_px=r["removed_px"])
                         for r in regions]
        return facts
    changes = None
    if old_words and new_words and matrix is not None:
        changes = compare_words(old_words, map_words(new_words, matrix), tolerance_px + 1)
        facts.text_source = "text layer"
    area = shape[0] * shape[1]
    by_size = sorted(range(len(regions)), key=lambda i: -(regions[i]["added_px"] + regions[i]["removed_px"]))
    ocr_allowed = set(by_size[:MAX_OCR_REGIONS])
    for i, r in enumerate(regions):
        box = tuple(r["box"])
        region = RegionFacts(location(_box_fraction(box, shape)), _box_fraction(box, shape),
                             added_px=r["added_px"], removed_px=r["removed_px"])
        if changes is not None:
            region.removed_text = [w.text for w in inside(box, changes.removed, REGION_PAD_PX)]
            region.added_text = [w.text for w in inside(box, changes.added, REGION_PAD_PX)]
        elif (old_gray is not None and new_gray is not None and matrix is not None and i in ocr_allowed
              and (box[2] - box[0]) * (box[3] - box[1]) <= MAX_OCR_REGION_FRACTION * area):
            region.removed_text, region.added_text = _ocr_changes(old_gray, new_gray, box, matrix)
            facts.text_source = "ocr"
        facts.regions.append(region)
    return facts
