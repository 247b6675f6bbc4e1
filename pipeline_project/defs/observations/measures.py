"""Typology: 31 statistical measures per signal (22 catch22 + 9 distribution moments).

catch22 (Lubba et al. 2019, via pycatch22) summarises a series' dynamics in 22 features that
were selected from ~7,700 hctsa features for being informative and not redundant; its names
are kept verbatim and described in MEASURE_DOCS. The 9 moments are computed on the full week;
catch22 runs on finite values only, strided down to `max_points` (catch22 is ~O(n log n) but
with a large constant: 0.8 s at 100k points), and the stride is recorded in `catch22_stride`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATCH22_DOCS = {
    "DN_HistogramMode_5": "mode of the z-scored distribution (5-bin histogram)",
    "DN_HistogramMode_10": "mode of the z-scored distribution (10-bin histogram)",
    "DN_OutlierInclude_p_001_mdrmd": "timing of positive outliers (median of range-normalised times)",
    "DN_OutlierInclude_n_001_mdrmd": "timing of negative outliers",
    "CO_FirstCrossing_acf_1e_pointOfCrossing": "first lag where the autocorrelation crosses 1/e",
    "CO_FirstMin_ac": "first minimum of the autocorrelation function",
    "SP_Summaries_fft_area_5_1": "power in the lowest fifth of frequencies (FFT)",
    "SP_Summaries_fft_wq_50": "spectral centroid (frequency below which half the power lies)",
    "FC_LocalSimple_mean3_stde": "error of a 3-sample rolling-mean forecaster",
    "FC_LocalSimple_mean1_taurat": "autocorrelation-time change after 1-step differencing",
    "MD_pNN_pnn40": "proportion of successive differences > 0.04 sigma",
    "SB_BinaryStats_mean_longstretch1": "longest stretch above the mean",
    "SB_BinaryStats_diff_longstretch0": "longest stretch of decreases",
    "SB_MotifThree_quantile_hh": "entropy of 2-letter words in a 3-letter quantile alphabet",
    "CO_HistogramAMI_even_5bin_ami2": "automutual information at lag 2 (5-bin histogram)",
    "CO_trev_1_num": "time-reversal asymmetry statistic at lag 1",
    "IN_AutoMutualInfoStats_40_gaussian_fmmi": "first minimum of the automutual information",
    "SB_TransitionMatrix_quantile_3_ac_sumdiagcov": "trace of covariance of 3-state transition matrix",
    "PD_PeriodicityWang_th0_01": "periodicity length (Wang et al. 2007), 0 if aperiodic",
    "CO_Embed2_Dist_tau_d_expfit_meandiff": "exponential fit to distances in a 2-D embedding",
    "SC_FluctAnal_2_rsrangefit_50_1_logi_prop_r1": "rescaled-range fluctuation analysis scaling break",
    "SC_FluctAnal_2_dfa_50_1_2_logi_prop_r1": "detrended fluctuation analysis scaling break",
}
MOMENT_DOCS = {
    "mean": "arithmetic mean of finite values",
    "std": "standard deviation (ddof=0) of finite values",
    "skewness": "Fisher-Pearson skewness of finite values",
    "kurtosis": "excess kurtosis (normal = 0) of finite values",
    "min": "minimum finite value",
    "max": "maximum finite value",
    "median": "median of finite values",
    "rms": "root mean square of finite values",
    "missing_fraction": "fraction of samples that are NaN or infinite",
}
CATCH22_NAMES = tuple(CATCH22_DOCS)
MOMENT_NAMES = tuple(MOMENT_DOCS)
MEASURE_NAMES = MOMENT_NAMES + CATCH22_NAMES
MEASURE_DOCS = {**MOMENT_DOCS, **CATCH22_DOCS}
assert len(MEASURE_NAMES) == 31


def moments(values: np.ndarray) -> dict[str, float]:
    from scipy import stats  # ~0.7 s: when a week is measured, not on every definitions load

    values = np.asarray(values, dtype="float64")
    finite = values[np.isfinite(values)]
    missing = 1.0 - finite.size / values.size if values.size else 1.0
    if finite.size == 0:
        return {**{name: float("nan") for name in MOMENT_NAMES}, "missing_fraction": missing}
    std = float(finite.std())
    constant = std == 0.0  # skew/kurtosis are undefined; report 0 rather than NaN warnings
    return {
        "mean": float(finite.mean()),
        "std": std,
        "skewness": 0.0 if constant else float(stats.skew(finite)),
        "kurtosis": 0.0 if constant else float(stats.kurtosis(finite)),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "median": float(np.median(finite)),
        "rms": float(np.sqrt(np.mean(finite * finite))),
        "missing_fraction": missing,
    }


def catch22(values: np.ndarray, max_points: int = 20_000) -> tuple[dict[str, float], int]:
    """catch22 features of the finite values (strided to <= max_points); returns (features, stride)."""
    import pycatch22  # imported here: keeps the code location's import light

    finite = np.asarray(values, dtype="float64")
    finite = finite[np.isfinite(finite)]
    stride = max(1, int(np.ceil(finite.size / max_points))) if max_points else 1
    series = finite[::stride]
    if series.size < 10:  # catch22 needs a handful of points; fewer gives garbage
        return {name: float("nan") for name in CATCH22_NAMES}, stride
    result = pycatch22.catch22_all(series.tolist())
    out = dict(zip(result["names"], (float(v) for v in result["values"])))
    return {name: out.get(name, float("nan")) for name in CATCH22_NAMES}, stride


def measure_signal(values: np.ndarray, max_points: int = 20_000) -> dict[str, float]:
    features, stride = catch22(values, max_points)
    return {"n_samples": int(np.asarray(values).size), **moments(values), **features,
            "catch22_stride": stride}


def typology_table(signals: dict[str, np.ndarray], max_points: int = 20_000) -> pd.DataFrame:
    """One row per signal: signal, n_samples, the 31 measures, catch22_stride."""
    rows = [{"signal": name, **measure_signal(values, max_points)} for name, values in signals.items()]
    columns = ["signal", "n_samples", *MEASURE_NAMES, "catch22_stride"]
    return pd.DataFrame(rows, columns=columns)
