"""Classification: 10 dimensions per signal, each decided twice by independent methods.

"rule" reads only the typology (thresholds on the 31 measures, which may be the bootstrap
week's); "stat" goes back to this week's raw values and uses scipy (tests, spectra, robust
statistics). Both labels are kept; the final label is theirs when they agree, else
"uncertain" — disagreements are counted and surfaced, never silently resolved.
Thresholds are heuristics for triage, tuned on generic sensor data; tune per dataset if needed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DIMENSIONS = {
    "completeness": ("complete", "gappy", "sparse"),
    "variability": ("constant", "low", "high"),
    "distribution": ("normal", "skewed", "heavy_tailed", "light_tailed"),
    "stationarity": ("stationary", "nonstationary"),
    "memory": ("short", "long"),
    "periodicity": ("aperiodic", "periodic"),
    "spectrum": ("low_frequency", "mid_frequency", "broadband"),
    "smoothness": ("smooth", "noisy"),
    "outliers": ("none", "present"),
    "discreteness": ("continuous", "discrete", "binary"),
}
UNCERTAIN = "uncertain"
_EPS = 1e-12


def _tiers(x: float, cuts: tuple[float, ...], labels: tuple[str, ...]) -> str:
    for cut, label in zip(cuts, labels):
        if x < cut:
            return label
    return labels[len(cuts)]


def _half_period(period: float, first_min: float) -> bool:
    return period >= 6 and abs(period - 2 * first_min) <= 0.25 * period


def rule_labels(m: dict) -> dict[str, str]:
    """From typology measures only (no raw data)."""
    std, mean = m["std"], m["mean"]
    n_eff = max(m["n_samples"] / max(m.get("catch22_stride", 1), 1), 1)
    constant = not std or not np.isfinite(std)
    return {
        "completeness": _tiers(m["missing_fraction"], (0.01, 0.2), DIMENSIONS["completeness"]),
        "variability": "constant" if constant else
        _tiers(std / (abs(mean) + _EPS), (0.05,), ("low", "high")),
        "distribution": "skewed" if abs(m["skewness"]) >= 0.5 else "heavy_tailed" if m["kurtosis"] >= 1
        else "light_tailed" if m["kurtosis"] <= -1 else "normal",
        "stationarity": "nonstationary" if m["SB_BinaryStats_mean_longstretch1"] > 0.1 * n_eff
        else "stationary",
        "memory": "long" if not constant and m["CO_FirstCrossing_acf_1e_pointOfCrossing"] > 10 else "short",
        # a periodic signal's autocorrelation has its first minimum at half the period
        "periodicity": "periodic" if _half_period(m["PD_PeriodicityWang_th0_01"], m["CO_FirstMin_ac"])
        else "aperiodic",
        "spectrum": _tiers(m["SP_Summaries_fft_wq_50"], (0.3, 1.2), DIMENSIONS["spectrum"]),
        "smoothness": "smooth" if constant or m["FC_LocalSimple_mean3_stde"] < 0.5 * std else "noisy",
        "outliers": "none" if constant or max(m["max"] - mean, mean - m["min"]) < 6 * std else "present",
        "discreteness": "binary" if m["kurtosis"] < -1.8 else
        "discrete" if constant or m["SB_MotifThree_quantile_hh"] < 1.0 else "continuous",
    }


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    denom = float(np.dot(x, x))
    return float(np.dot(x[:-lag], x[lag:]) / denom) if denom and x.size > lag else 0.0


def stat_labels(values: np.ndarray) -> dict[str, str]:
    """From this week's raw values with scipy; long series are strided to 20k points."""
    from scipy import signal as sps  # scipy costs ~1.4 s: not on every definitions load
    from scipy import stats

    values = np.asarray(values, dtype="float64")
    finite_mask = np.isfinite(values)
    x = values[finite_mask]
    segments = np.array_split(~finite_mask, 10) if values.size else [np.array([True])]
    worst_gap = max((s.mean() for s in segments if s.size), default=1.0)
    out = {"completeness": _tiers(worst_gap, (0.01, 0.2), DIMENSIONS["completeness"])}
    if x.size < 20 or np.ptp(x) == 0:
        constant = x.size > 0 and np.ptp(x) == 0
        return {**out, **{d: (labels[0] if constant or d != "variability" else labels[0])
                          for d, labels in DIMENSIONS.items() if d != "completeness"},
                "variability": "constant", "discreteness": "discrete" if constant else "continuous"}
    x = x[:: max(1, x.size // 20_000)]
    median = float(np.median(x))
    iqr = float(stats.iqr(x))
    mad = float(stats.median_abs_deviation(x, scale="normal"))
    freqs, psd = sps.welch(x - x.mean(), nperseg=min(256, x.size))
    psd, freqs = psd[1:], freqs[1:]  # drop DC
    flatness = float(stats.gmean(psd + _EPS) / (psd.mean() + _EPS))
    centroid = float((freqs * psd).sum() / (psd.sum() + _EPS) / 0.5)
    sample = x[:: max(1, x.size // 5000)]
    normal_p = float(stats.normaltest(sample).pvalue) if sample.size >= 20 else 1.0
    skew_p = float(stats.skewtest(sample).pvalue) if sample.size >= 8 else 1.0
    quarters = np.array_split(x, 4)
    anova_p = float(stats.f_oneway(*quarters).pvalue)
    unique = np.unique(x).size
    return {
        **out,
        "variability": "constant" if iqr == 0 and unique == 1 else
        _tiers(iqr / 1.349 / (abs(median) + _EPS), (0.05,), ("low", "high")),
        "distribution": "normal" if normal_p >= 0.01 else "skewed" if skew_p < 0.01 else
        "heavy_tailed" if stats.kurtosis(sample) > 0 else "light_tailed",
        "stationarity": "nonstationary" if anova_p < 1e-3 else "stationary",
        "memory": "long" if _acf(x, 10) > np.exp(-1) else "short",
        "periodicity": "periodic" if psd.max() > 50 * np.median(psd) and np.argmax(psd) > 0
        else "aperiodic",
        "spectrum": "broadband" if flatness > 0.3 else "low_frequency" if centroid < 0.1
        else "mid_frequency",
        "smoothness": "noisy" if np.diff(x).std() > 0.5 * np.sqrt(2) * x.std() else "smooth",
        "outliers": "present" if mad > 0 and (np.abs(x - median) / mad > 6).any() else "none",
        "discreteness": "binary" if unique <= 2 else
        "discrete" if unique <= max(20, 0.01 * x.size) else "continuous",
    }


def classify(typology: pd.DataFrame, signals: dict[str, np.ndarray]) -> pd.DataFrame:
    """typology rows + raw values -> one row per signal with final/rule/stat/agree per dimension."""
    rows = []
    for record in typology.to_dict("records"):
        name = record["signal"]
        rule = rule_labels(record)
        stat = stat_labels(signals.get(name, np.empty(0)))
        row = {"signal": name}
        disagreements = []
        for dim in DIMENSIONS:
            agree = rule[dim] == stat[dim]
            row[dim] = rule[dim] if agree else UNCERTAIN
            row[f"{dim}_rule"], row[f"{dim}_stat"], row[f"{dim}_agree"] = rule[dim], stat[dim], agree
            if not agree:
                disagreements.append(dim)
        row["n_disagreements"] = len(disagreements)
        row["disagreements"] = ",".join(disagreements)
        rows.append({**row, **{k: v for k, v in record.items() if k != "signal"}})
    return pd.DataFrame(rows)
