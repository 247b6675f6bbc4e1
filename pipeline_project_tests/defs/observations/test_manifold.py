"""Partition edges: with the overlap, a week's windows equal a run over the concatenated recording."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_project.defs.observations import manifold, stages, state
from pipeline_project.defs.observations.config import load_config
from pipeline_project.defs.observations.resources import observations_store
from pipeline_project_tests.defs.observations.conftest import WEEKS, write_config
from pipeline_project.samples.matfiles import make_dataset


def run_weeks(config):
    store = observations_store()
    for key in WEEKS:
        stages.ingest(config, key, store.warehouse, store.storage_root)
        stages.typology(config, key, store.warehouse)
        stages.classify(config, key, store.warehouse)
        stages.build_manifest(config, key, store.warehouse)
        stages.compute_manifold(config, key, store.warehouse)


def concatenated_reference(config, signals, window):
    frames = [manifold.wide_frame(state.observations_path(config, k), signals) for k in WEEKS]
    whole = pd.concat(frames)
    return manifold.compute(whole, 0, window, 1)  # every possible window end


@pytest.mark.parametrize("overlap", [300, 63])
def test_week_edges_equal_concatenated_run(obs_root, overlap):
    config = load_config(write_config(obs_root, compute={"overlap_samples": overlap}))
    make_dataset(config.raw_dir, weeks=3, files_per_week=1, n=500)
    run_weeks(config)
    signals = ["noise", "sine", "walk"]
    ref_geo, ref_eig = concatenated_reference(config, signals, config.compute.window_samples)
    ref_geo = ref_geo.set_index("window_end")
    for key in WEEKS[1:]:
        geo = pd.read_parquet(state.output_dir(config, key) / "state_geometry.parquet")
        week_start = manifold.wide_frame(state.observations_path(config, key), signals).index.min()
        straddling = geo[geo["window_start"] < week_start]
        assert len(straddling) > 0  # windows that reach back into the previous week exist ...
        assert geo["window_end"].min() < week_start + pd.Timedelta(seconds=10)
        expected = ref_geo.loc[geo["window_end"]]
        for col in ["total_variance", "effective_dimension", "dominant_fraction"]:
            np.testing.assert_allclose(geo[col].to_numpy(), expected[col].to_numpy(), rtol=1e-9)
        eig = pd.read_parquet(state.output_dir(config, key) / "eigendecomposition.parquet")
        merged = eig.merge(ref_eig, on=["window_end", "component", "signal"], suffixes=("", "_ref"))
        assert len(merged) == len(eig)
        np.testing.assert_allclose(merged["eigenvalue"], merged["eigenvalue_ref"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(merged["loading"], merged["loading_ref"], rtol=1e-7, atol=1e-9)


def test_without_overlap_the_edge_windows_are_missing(obs_root):
    config = load_config(write_config(obs_root, compute={"overlap_samples": 0}))
    make_dataset(config.raw_dir, weeks=2, files_per_week=1, n=500)
    store = observations_store()
    for key in WEEKS[:2]:
        stages.ingest(config, key, store.warehouse, store.storage_root)
        stages.typology(config, key, store.warehouse)
        stages.classify(config, key, store.warehouse)
        stages.build_manifest(config, key, store.warehouse)
        stages.compute_manifold(config, key, store.warehouse)
    geo = pd.read_parquet(state.output_dir(config, WEEKS[1]) / "state_geometry.parquet")
    week_start = manifold.wide_frame(state.observations_path(config, WEEKS[1]), ["walk"]).index.min()
    assert (geo["window_start"] >= week_start).all()


def test_windows_with_gaps_use_complete_rows():
    idx = pd.date_range("2023-01-02", periods=200, freq="s", tz="UTC")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)}, index=idx)
    frame.iloc[10, 0] = np.nan
    geo, eig = manifold.compute(frame, 0, 64, 32)
    assert len(geo) == 5 and np.isfinite(geo["total_variance"]).all()
    assert set(eig["component"]) == {1, 2}


def test_eigenpairs_match_numpy_for_a_window():
    idx = pd.date_range("2023-01-02", periods=64, freq="s", tz="UTC")
    rng = np.random.default_rng(5)
    data = rng.normal(size=(64, 3)) @ np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]])
    frame = pd.DataFrame(data, index=idx, columns=["a", "b", "c"])
    geo, eig = manifold.compute(frame, 0, 64, 64)
    values, vectors = np.linalg.eigh(np.cov(data, rowvar=False))
    first = eig[eig["component"] == 1].set_index("signal")["loading"]
    top = vectors[:, -1] * np.sign(vectors[np.abs(vectors[:, -1]).argmax(), -1])
    np.testing.assert_allclose(first[["a", "b", "c"]].to_numpy(), top, rtol=1e-9)
    assert eig[eig["component"] == 1]["eigenvalue"].iloc[0] == pytest.approx(values[-1])
    assert geo["total_variance"].iloc[0] == pytest.approx(values.sum())
