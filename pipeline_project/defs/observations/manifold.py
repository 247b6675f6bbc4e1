"""Manifold: windowed multivariate covariance of a week's signals and its eigendecomposition.

The week's long observations are pivoted to a (time x signal) matrix. A window of
`window_samples` rows ends every `window_step` rows (counted from the week's first sample);
for each, the covariance of the complete rows gives the state geometry (total variance,
effective dimension = participation ratio, dominant fraction) and its eigenpairs.

Partition edges: the last `overlap_samples` rows of the previous week are prepended, so a
window ending early in this week sees the same samples it would in one run over the
concatenated recording — results keyed by window_end are identical (tested). Windows still
lacking `window_samples` rows (the very first week, or overlap < window - 1) are not emitted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

GEOMETRY_COLUMNS = ["window_start", "window_end", "n_samples", "n_signals", "total_variance",
                    "effective_dimension", "dominant_fraction"]
EIGEN_COLUMNS = ["window_end", "component", "eigenvalue", "explained_ratio", "signal", "loading"]
_BATCH = 256  # windows per vectorised batch: bounds memory at batch x window x signals


def _empty(signals: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=signals, index=pd.DatetimeIndex([], tz="UTC", name="timestamp"),
                        dtype="float64")


def wide_frame(path: Path, signals: list[str]) -> pd.DataFrame:
    """(timestamp x signal) matrix of one week; duplicate timestamps are averaged."""
    if not path.exists() or not signals:
        return _empty(signals)
    table = pq.read_table(path, columns=["timestamp", "signal", "value"],
                          filters=[("signal", "in", list(signals))])
    frame = table.to_pandas()
    if frame.empty:
        return _empty(signals)
    frame["signal"] = frame["signal"].astype(str)
    wide = frame.groupby(["timestamp", "signal"], sort=True)["value"].mean().unstack("signal")
    return wide.reindex(columns=signals)


def with_overlap(previous: pd.DataFrame, current: pd.DataFrame, overlap: int) -> tuple[pd.DataFrame, int]:
    """Prepend the previous week's last `overlap` rows; returns (frame, index of first own row)."""
    tail = previous.iloc[len(previous) - overlap:] if overlap and len(previous) else previous.iloc[:0]
    tail = tail.reindex(columns=current.columns)
    if not len(current):
        return current, 0
    tail = tail[tail.index < current.index.min()]
    return pd.concat([tail, current]), len(tail)


def _window_ends(n_rows: int, first_own: int, window: int, step: int) -> np.ndarray:
    ends = np.arange(first_own + step - 1, n_rows, step)
    return ends[ends - window + 1 >= 0]


def _eigh_sorted(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[..., ::-1], vectors[..., ::-1]
    values = np.clip(values, 0.0, None)  # tiny negative round-off is not a real direction
    # fix the sign so each eigenvector's largest-|.| component is positive: results comparable
    idx = np.abs(vectors).argmax(axis=-2)[..., None, :]
    signs = np.sign(np.take_along_axis(vectors, idx, axis=-2))
    return values, vectors * np.where(signs == 0, 1.0, signs)


def _batch_cov(windows: np.ndarray) -> np.ndarray:
    """windows: (B, window, k) complete -> (B, k, k) sample covariances."""
    centred = windows - windows.mean(axis=1, keepdims=True)
    return np.einsum("bwi,bwj->bij", centred, centred) / (windows.shape[1] - 1)


def compute(frame: pd.DataFrame, first_own: int, window: int, step: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """State geometry and eigendecomposition for windows ending in rows >= first_own."""
    signals = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype="float64")
    times = frame.index.to_numpy()
    ends = _window_ends(len(frame), first_own, window, step)
    if not signals or not len(ends):
        return pd.DataFrame(columns=GEOMETRY_COLUMNS), pd.DataFrame(columns=EIGEN_COLUMNS)
    k = len(signals)
    geometry, eigen = [], []
    for start in range(0, len(ends), _BATCH):
        batch_ends = ends[start:start + _BATCH]
        stacked = np.stack([values[e - window + 1:e + 1] for e in batch_ends])
        complete = np.isfinite(stacked).all(axis=(1, 2))
        covs = np.full((len(batch_ends), k, k), np.nan)
        if complete.any():
            covs[complete] = _batch_cov(stacked[complete])
        for i in np.flatnonzero(~complete):  # windows with gaps: complete rows only
            rows = stacked[i][np.isfinite(stacked[i]).all(axis=1)]
            if len(rows) >= max(2, window // 2):
                covs[i] = np.atleast_2d(np.cov(rows, rowvar=False))
        ok = np.isfinite(covs).all(axis=(1, 2))
        lam, vecs = _eigh_sorted(covs[ok])
        e_ok = batch_ends[ok]
        total = lam.sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        geometry.append(pd.DataFrame({
            "window_start": times[e_ok - window + 1], "window_end": times[e_ok], "n_samples": window,
            "n_signals": k, "total_variance": total,
            "effective_dimension": np.where(total > 0, total ** 2 / np.maximum((lam ** 2).sum(axis=1), 1e-300), 0.0),
            "dominant_fraction": np.where(total > 0, lam[:, 0] / safe, 0.0)}))
        # long eigen rows: window x component x signal; loading = vecs[w, signal, component]
        ratio = np.where(total[:, None] > 0, lam / safe[:, None], 0.0)
        eigen.append(pd.DataFrame({
            "window_end": np.repeat(times[e_ok], k * k),
            "component": np.tile(np.repeat(np.arange(1, k + 1), k), len(e_ok)),
            "eigenvalue": np.repeat(lam.reshape(-1), k),
            "explained_ratio": np.repeat(ratio.reshape(-1), k),
            "signal": np.tile(np.array(signals, dtype=object), k * len(e_ok)),
            "loading": vecs.transpose(0, 2, 1).reshape(-1)}))
    if not geometry:
        return pd.DataFrame(columns=GEOMETRY_COLUMNS), pd.DataFrame(columns=EIGEN_COLUMNS)
    return pd.concat(geometry, ignore_index=True), pd.concat(eigen, ignore_index=True)
