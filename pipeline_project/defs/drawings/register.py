"""Registering the new render of a sheet onto the old one (OpenCV).

The transform maps new-page pixels to old-page pixels: a quarter turn (a sheet stored or scanned
sideways), then scale, small rotation and shift. It is found coarse to fine on blurred ink images:
quarter turn and scale guesses scored on thumbnails, translation by phase correlation, then ECC
(enhanced correlation coefficient) with an affine model at two resolutions. Every candidate is scored
by the correlation of the blurred ink, and the plain centred overlay wins unless something beats it,
so a registration that goes astray never makes things worse than no registration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THUMB_SIDE = 320  # choosing a quarter turn and a scale
COARSE_SIDE = 800  # first ECC pass
FINE_SIDE = 2000  # second ECC pass (the full render when smaller)
MAX_SHEAR = 0.03  # an affine result that skews or stretches more than this is not a re-plot of a sheet
MAX_ROTATION_RAD = 0.09  # ~5 degrees: "small rotation"
SCALE_RANGE = (0.4, 2.5)


@dataclass
class Registration:
    matrix: np.ndarray  # 2x3 float64, new pixels -> old pixels
    quarter_turns: int = 0
    score: float = 1.0  # correlation of blurred ink after alignment
    method: str = "identity"

    @staticmethod
    def identity() -> "Registration":
        return Registration(np.array([[1.0, 0, 0], [0, 1.0, 0]]))

    def warp(self, new_image: np.ndarray, old_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(new image in old-page pixels, mask of old-page pixels where the comparison is meaningful).

        Pixels the new page does not cover are compared too (a cropped sheet lost that content),
        except a thin band along the new page's edge, where sizes differing by a point would show."""
        import cv2

        h, w = old_shape[:2]
        aligned = cv2.warpAffine(new_image, self.matrix, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self.is_identity and new_image.shape[:2] == (h, w):
            return aligned, np.ones((h, w), dtype=bool)
        cover = cv2.warpAffine(np.full(new_image.shape[:2], 255, np.uint8), self.matrix, (w, h),
                               flags=cv2.INTER_NEAREST, borderValue=0) > 0
        band = cv2.dilate(cover.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
        return aligned, cover | ~band

    def to_new(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """An old-page box expressed in new-page pixels (the box around its transformed corners)."""
        inverse = np.linalg.inv(np.vstack([self.matrix, [0, 0, 1]]))[:2]
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], dtype=float) @ inverse.T
        return (float(corners[:, 0].min()), float(corners[:, 1].min()),
                float(corners[:, 0].max()), float(corners[:, 1].max()))

    @property
    def is_identity(self) -> bool:
        return bool(np.allclose(self.matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-6))

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def rotation_degrees(self) -> float:
        return float(np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))

    def as_dict(self) -> dict:
        return {"matrix": [[round(float(v), 6) for v in row] for row in self.matrix],
                "quarter_turns": self.quarter_turns, "score": round(self.score, 4), "method": self.method,
                "scale": round(self.scale, 5), "rotation_degrees": round(self.rotation_degrees, 3),
                "shift_px": [round(float(self.matrix[0, 2]), 2), round(float(self.matrix[1, 2]), 2)]}


# ------------------------------------------------------------------------------------------- helpers


def _h(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0, 0, 1]])


def _quarter_turn(k: int, w: int, h: int) -> tuple[np.ndarray, tuple[int, int]]:
    """3x3 matrix turning a (w x h) image k times 90° clockwise, and the turned size (w, h)."""
    k %= 4
    if k == 0:
        return np.eye(3), (w, h)
    if k == 1:
        return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], float), (h, w)
    if k == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], float), (w, h)
    return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], float), (h, w)


def _initial(k: int, scale: float, new_wh: tuple[int, int], old_wh: tuple[int, int]) -> np.ndarray:
    """Turn the new page k quarter turns, scale it about its centre and centre it on the old page."""
    turn, (tw, th) = _quarter_turn(k, *new_wh)
    to_origin = np.array([[1, 0, -(tw - 1) / 2], [0, 1, -(th - 1) / 2], [0, 0, 1]])
    scaled = np.diag([scale, scale, 1.0])
    to_old = np.array([[1, 0, (old_wh[0] - 1) / 2], [0, 1, (old_wh[1] - 1) / 2], [0, 0, 1]])
    return (to_old @ scaled @ to_origin @ turn)[:2]


def _shrink(image: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    if factor >= 1:
        return image.astype(np.float32)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def _blur(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(image, (0, 0), 1.5)


def _at_scale(m: np.ndarray, factor: float) -> np.ndarray:
    """A full-resolution transform expressed for images shrunk by `factor` (and back with 1/factor)."""
    out = m.copy()
    out[:, 2] *= factor
    return out


def _score(old_small: np.ndarray, new_small: np.ndarray, m_small: np.ndarray) -> float:
    import cv2

    h, w = old_small.shape
    warped = cv2.warpAffine(new_small, m_small, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    a, b = old_small.ravel(), warped.ravel()
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _phase_shift(old_small: np.ndarray, new_small: np.ndarray, m_small: np.ndarray) -> np.ndarray:
    import cv2

    h, w = old_small.shape
    warped = cv2.warpAffine(new_small, m_small, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(old_small, warped, window)
    out = m_small.copy()
    out[:, 2] -= (dx, dy)
    return out


def _ecc(old_small: np.ndarray, new_small: np.ndarray, m_small: np.ndarray, iterations: int) -> np.ndarray | None:
    """ECC's warp maps template (old) to input (new) coordinates: the inverse of ours."""
    import cv2

    warp = np.linalg.inv(_h(m_small))[:2].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, iterations, 1e-5)
    try:
        _, warp = cv2.findTransformECC(old_small, new_small, warp, cv2.MOTION_AFFINE, criteria, None, 5)
    except cv2.error:  # did not converge: keep what we had
        return None
    return np.linalg.inv(_h(warp.astype(np.float64)))[:2]


def _plausible(m: np.ndarray, base: np.ndarray) -> bool:
    """Affine minus the quarter turn must be a similarity: uniform scale, small rotation, no shear."""
    rest = m[:, :2] @ np.linalg.inv(base[:, :2])
    sx, sy = np.linalg.norm(rest[:, 0]), np.linalg.norm(rest[:, 1])
    if not (SCALE_RANGE[0] < sx < SCALE_RANGE[1]) or abs(sx - sy) / max(sx, sy) > MAX_SHEAR:
        return False
    shear = abs(float(rest[:, 0] @ rest[:, 1])) / (sx * sy)
    angle = abs(np.arctan2(rest[1, 0], rest[0, 0]))
    return shear < MAX_SHEAR and angle < MAX_ROTATION_RAD


# ------------------------------------------------------------------------------------------- register


def _candidates(old_ink: np.ndarray, new_ink: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
    """(quarter turns, scale guess, initial transform) in full-resolution pixels."""
    oh, ow = old_ink.shape
    nh, nw = new_ink.shape
    out = []
    for k in range(4):
        tw, th = (nw, nh) if k % 2 == 0 else (nh, nw)
        if abs(np.log((tw / th) / (ow / oh))) > 0.25:  # the turned page's shape does not fit the old one
            continue
        scales = {1.0, round(float(np.sqrt((ow * oh) / (tw * th))), 4)}
        out += [(k, s, _initial(k, s, (nw, nh), (ow, oh))) for s in sorted(scales)]
    return out or [(0, 1.0, _initial(0, 1.0, (nw, nh), (ow, oh)))]


def register(old_ink: np.ndarray, new_ink: np.ndarray) -> Registration:
    """The transform taking the new page onto the old one (both 'ink' images: 0 = paper)."""
    if old_ink.shape == new_ink.shape and np.array_equal(old_ink, new_ink):
        return Registration.identity()
    side = max(old_ink.shape + new_ink.shape)
    thumb = min(1.0, THUMB_SIDE / side)
    old_t, new_t = _blur(_shrink(old_ink, thumb)), _blur(_shrink(new_ink, thumb))
    plain = _initial(0, 1.0, new_ink.shape[::-1], old_ink.shape[::-1])
    scored = []
    for k, s, m in _candidates(old_ink, new_ink):
        m_t = _phase_shift(old_t, new_t, _at_scale(m, thumb))
        scored.append((_score(old_t, new_t, m_t), k, m, _at_scale(m_t, 1 / thumb)))
    scored.sort(key=lambda c: -c[0])
    _, k, _, m = scored[0]

    best = Registration(plain, 0, -1.0, "centred")
    for level_side, iterations in ((COARSE_SIDE, 60), (FINE_SIDE, 25)):
        factor = min(1.0, level_side / side)
        old_s, new_s = _blur(_shrink(old_ink, factor)), _blur(_shrink(new_ink, factor))
        if best.score < -0.5:  # first level: score the plain overlay and the coarse guess
            best = Registration(plain, 0, _score(old_s, new_s, _at_scale(plain, factor)), "centred")
            guess = _at_scale(m, factor)
            guess_score = _score(old_s, new_s, guess)
            if guess_score > best.score:
                best = Registration(m, k, guess_score, "phase correlation")
        else:
            best.score = _score(old_s, new_s, _at_scale(best.matrix, factor))
        refined = _ecc(old_s, new_s, _at_scale(best.matrix, factor), iterations)
        if refined is None:
            continue
        full = _at_scale(refined, 1 / factor)
        moved = np.abs(refined - _at_scale(best.matrix, factor))
        settled = moved[:, :2].max() < 2e-4 and moved[:, 2].max() < 0.05  # ECC did not move it
        if not _plausible(full, _quarter_turn(best.quarter_turns, 2, 2)[0][:2]):
            continue
        score = _score(old_s, new_s, refined)
        if score > best.score + 1e-4:
            best = Registration(full, best.quarter_turns, score, "ecc")
        if factor >= 1.0 or settled:
            break  # a finer pass would not move it either
    if best.method == "centred" and old_ink.shape == new_ink.shape:
        best.matrix = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    return best
