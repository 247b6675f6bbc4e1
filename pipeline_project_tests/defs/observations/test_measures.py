"""Typology measures: each of the 9 moments against its definition; catch22 wiring; edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pipeline_project.defs.observations import measures

X = np.array([1.0, 2.0, 2.0, 3.0, 10.0, np.nan, np.inf, -4.0])
F = X[np.isfinite(X)]


@pytest.mark.parametrize("name,expected", [
    ("mean", F.mean()), ("std", F.std()), ("skewness", stats.skew(F)), ("kurtosis", stats.kurtosis(F)),
    ("min", -4.0), ("max", 10.0), ("median", 2.0), ("rms", np.sqrt(np.mean(F ** 2))),
    ("missing_fraction", 2 / 8),
])
def test_each_moment(name, expected):
    assert measures.moments(X)[name] == pytest.approx(expected)


def test_31_named_documented_measures():
    assert len(measures.MEASURE_NAMES) == 31 == len(set(measures.MEASURE_NAMES))
    assert all(measures.MEASURE_DOCS[n] for n in measures.MEASURE_NAMES)


def test_catch22_matches_pycatch22_and_ignores_nans():
    import pycatch22

    x = np.sin(np.arange(500) / 5.0) + np.random.default_rng(0).normal(0, 0.1, 500)
    with_gap = np.concatenate([x[:100], [np.nan], x[100:]])
    ours, stride = measures.catch22(with_gap)
    ref = dict(zip(*pycatch22.catch22_all(list(x)).values()))
    assert stride == 1
    for name in measures.CATCH22_NAMES:
        assert ours[name] == pytest.approx(ref[name], nan_ok=True)


def test_periodicity_measure_finds_the_period():
    x = np.sin(2 * np.pi * np.arange(2000) / 40)
    assert measures.catch22(x)[0]["PD_PeriodicityWang_th0_01"] == pytest.approx(40, abs=1)


def test_long_series_are_strided_and_the_stride_recorded():
    row = measures.measure_signal(np.random.default_rng(1).normal(size=50_000), max_points=10_000)
    assert row["catch22_stride"] == 5 and row["n_samples"] == 50_000


def test_constant_all_nan_and_tiny_signals_do_not_crash():
    const = measures.moments(np.ones(100))
    assert const["std"] == 0 and const["skewness"] == 0 and const["kurtosis"] == 0
    nan = measures.moments(np.full(10, np.nan))
    assert nan["missing_fraction"] == 1.0 and np.isnan(nan["mean"])
    tiny, _ = measures.catch22(np.arange(5.0))
    assert all(np.isnan(v) for v in tiny.values())


def test_typology_table_one_row_per_signal():
    table = measures.typology_table({"a": np.arange(100.0), "b": np.ones(100)})
    assert list(table["signal"]) == ["a", "b"]
    assert set(measures.MEASURE_NAMES) <= set(table.columns)
