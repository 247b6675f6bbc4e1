"""Dual classification: both classifiers label obvious signals the same; disagreement is recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_project.defs.observations import classification, manifest, measures

RNG = np.random.default_rng(3)
N = 4000
SIGNALS = {
    "walk": RNG.normal(size=N).cumsum(),
    "sine": np.sin(2 * np.pi * np.arange(N) / 50) + 0.05 * RNG.normal(size=N),
    "noise": RNG.normal(size=N),
    "flat": np.full(N, 3.0),
    "switch": (RNG.random(N) > 0.5).astype(float),
    "gappy": np.where(RNG.random(N) < 0.3, np.nan, RNG.normal(size=N)),
}


def classified() -> pd.DataFrame:
    return classification.classify(measures.typology_table(SIGNALS), SIGNALS).set_index("signal")


def test_ten_dimensions_with_both_labels():
    table = classified()
    assert len(classification.DIMENSIONS) == 10
    for dim in classification.DIMENSIONS:
        assert {dim, f"{dim}_rule", f"{dim}_stat", f"{dim}_agree"} <= set(table.columns)


def test_obvious_signals_agree():
    t = classified()
    assert t.loc["walk", "stationarity"] == "nonstationary"
    assert t.loc["walk", "memory"] == "long"
    assert t.loc["sine", "periodicity"] == "periodic"
    assert t.loc["noise", "periodicity"] == "aperiodic"
    assert t.loc["noise", "spectrum"] == "broadband"
    assert t.loc["flat", "variability"] == "constant"
    assert t.loc["switch", "discreteness"] == "binary"
    assert t.loc["gappy", "completeness"] == "sparse"


def test_disagreement_is_uncertain_and_counted():
    typology = measures.typology_table({"noise": SIGNALS["noise"]})
    typology.loc[0, "missing_fraction"] = 0.5  # the rule classifier now sees a sparse signal
    row = classification.classify(typology, {"noise": SIGNALS["noise"]}).iloc[0]
    assert row["completeness_rule"] == "sparse" and row["completeness_stat"] == "complete"
    assert row["completeness"] == classification.UNCERTAIN
    assert "completeness" in row["disagreements"].split(",") and row["n_disagreements"] >= 1


def test_manifest_excludes_constant_and_sparse_signals():
    doc = manifest.build_manifest("d", "2023-01-02", "2023-W01", classified().reset_index(),
                                  64, 32, 100, False)
    chosen = doc["engines"]["eigendecomposition"]["signals"]
    assert "flat" not in chosen and "gappy" not in chosen and {"walk", "sine", "noise"} <= set(chosen)
    assert doc["signals"]["flat"]["reason"] == "constant signal"
