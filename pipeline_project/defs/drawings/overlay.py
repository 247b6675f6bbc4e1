"""The overlay a reviewer looks at: the old page faded, removed ink in red, added ink in blue,
each change region boxed in orange. Red and blue stay distinct for red-green colour blindness."""

from __future__ import annotations

import numpy as np

from pipeline_project.defs.drawings.diff import PageDiff, to_ink

REMOVED_RGB = (220, 30, 30)
ADDED_RGB = (20, 90, 235)
BOX_RGB = (255, 150, 0)
FADE = 0.22  # how much of the old page's ink stays visible under the changes


def overlay_image(base_gray: np.ndarray, page_diff: PageDiff, box_pad: int = 8) -> np.ndarray:
    """RGB overlay in the base page's pixels (the old page, or the only page of an added/removed sheet)."""
    import cv2

    ink = page_diff.base_ink if page_diff.base_ink is not None else to_ink(base_gray)
    faded = cv2.LUT(ink, (255 - np.arange(256) * FADE).astype(np.uint8))
    rgb = np.dstack([faded, faded, faded])
    rgb[page_diff.removed] = REMOVED_RGB
    rgb[page_diff.added] = ADDED_RGB
    thickness = max(2, base_gray.shape[1] // 1200)
    h, w = base_gray.shape
    for region in page_diff.regions:
        x0, y0, x1, y1 = region.box
        if (x1 - x0) * (y1 - y0) > 0.6 * w * h:
            continue  # a whole added/removed sheet needs no box
        cv2.rectangle(rgb, (max(0, x0 - box_pad), max(0, y0 - box_pad)),
                      (min(w - 1, x1 + box_pad), min(h - 1, y1 + box_pad)), BOX_RGB, thickness)
    return rgb
