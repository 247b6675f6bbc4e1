"""Assets end to end with dg.materialize: outputs, quarantine + checks, bootstrap, empty weeks,
a single-run backfill over a week range, and the definitions loading from configs."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline_project.defs.observations import state
from pipeline_project.lib import ledger
from pipeline_project.defs.observations.assets import asset_key, build_assets
from pipeline_project.defs.observations.resources import observations_store
from pipeline_project_tests.defs.observations.conftest import WEEKS, write_config
from pipeline_project.samples.matfiles import set_mtime, write_v5
import datetime as dt


def materialize(config, key, instance=None, **kw):
    return dg.materialize(build_assets(config), partition_key=key, instance=instance or dg.DagsterInstance.ephemeral(),
                          resources={"observations_store": observations_store()}, **kw)


def check_results(result):
    return {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_week_outputs_layout_and_contents(dataset):
    config, _ = dataset
    result = materialize(config, WEEKS[0])
    assert result.success
    week = state.week_dir(config, WEEKS[0])
    assert week.name == "2023-W01"
    for rel in ["observations.parquet", "typology_raw.parquet", "typology.parquet", "manifest.yaml",
                "output/state_geometry.parquet", "output/eigendecomposition.parquet",
                "output/sql/signal_summary.md", "output/sql/state_geometry.md"]:
        assert (week / rel).exists(), rel
    obs = pq.read_table(week / "observations.parquet").to_pandas()
    assert list(obs.columns) == ["timestamp", "signal", "value", "source_file"]
    assert len(obs) == 2 * 3 * 600 and set(obs["signal"]) == {"walk", "sine", "noise"}
    assert set(obs["source_file"]) == {"w0/rec001.mat", "w0/rec002.mat"}
    mat = result.asset_materializations_for_node("observations__demo__weekly_observations")[0]
    assert mat.metadata["rows"].value == 3600 and mat.metadata["quarantined"].value == 0
    sql_mat = result.asset_materializations_for_node("observations__demo__sql_analysis")[0]
    assert "walk" in sql_mat.metadata["report_signal_summary"].value
    assert check_results(result)["no_dead_letters"].passed


def test_bad_files_are_quarantined_and_the_week_completes(dataset, obs_root):
    config, _ = dataset
    when = dt.datetime(2023, 1, 3, 9)
    bad = config.raw_dir / "w0" / "broken.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 50)
    set_mtime(bad, when)
    set_mtime(write_v5(config.raw_dir / "w0" / "dead.mat", {"x": np.full(50, np.nan), "y": np.ones(50)}), when)
    result = materialize(config, WEEKS[0])
    assert result.success
    checks = check_results(result)
    assert not checks["no_dead_letters"].passed
    assert checks["no_dead_letters"].severity == dg.AssetCheckSeverity.WARN
    qdir = obs_root / "quarantine" / "observations" / "demo"
    assert (qdir / "w0" / "broken.mat").exists() and bad.exists()  # copied, never moved
    assert "all-NaN signals: ['x']" in (qdir / "w0" / "dead.mat.reason.txt").read_text()
    # the item ledger holds each raw file of the week: the two bad ones as dead letters with their copy
    files = ledger.Ledger(observations_store().warehouse, "observations").rows(stage="ingest")
    assert sorted((r.label, r.state, bool(r.quarantine_path)) for r in files) == [
        ("w0/broken.mat", "dead_letter", True), ("w0/dead.mat", "dead_letter", True),
        *sorted((r.label, "done", False) for r in files if r.state == "done")]
    assert len([r for r in files if r.state == "done"]) == 2
    rows = pq.read_metadata(state.observations_path(config, WEEKS[0])).num_rows
    assert rows == 3600  # the two good files are all there


def test_empty_week_completes_with_a_warning(obs_root, config_path):
    from pipeline_project.defs.observations.config import load_config

    config = load_config(config_path)
    result = materialize(config, WEEKS[1])
    assert result.success
    assert not check_results(result)["has_observations"].passed
    assert pq.read_metadata(state.observations_path(config, WEEKS[1])).num_rows == 0


def test_bootstrap_typology_reused_for_later_weeks(dataset):
    config, _ = dataset
    for key in WEEKS[:2]:
        assert materialize(config, key).success
    first = pd.read_parquet(state.typology_raw_path(config, WEEKS[0]))
    second = pd.read_parquet(state.typology_raw_path(config, WEEKS[1]))
    assert set(first["source"]) == {"computed"} and set(second["source"]) == {"bootstrap:2023-W01"}
    pd.testing.assert_frame_equal(first.drop(columns="source"), second.drop(columns="source"))


def test_no_reuse_computes_every_week(obs_root):
    from pipeline_project.defs.observations.config import load_config
    from pipeline_project.samples.matfiles import make_dataset

    config = load_config(write_config(obs_root, bootstrap={"reuse_typology": False}))
    make_dataset(config.raw_dir, weeks=2, files_per_week=1, n=300)
    for key in WEEKS[:2]:
        assert materialize(config, key).success
    assert set(pd.read_parquet(state.typology_raw_path(config, WEEKS[1]))["source"]) == {"computed"}


def test_single_run_backfill_of_a_week_range(dataset):
    config, _ = dataset
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            build_assets(config), instance=instance,
            resources={"observations_store": observations_store()},
            tags={"dagster/asset_partition_range_start": WEEKS[0], "dagster/asset_partition_range_end": WEEKS[2]})
        assert result.success
        assert instance.get_materialized_partitions(asset_key(config, "sql_analysis")) == set(WEEKS)
    con = duckdb.connect(str(config.duckdb_path), read_only=True)
    weeks = con.sql("select week, count(*) from observations group by 1 order by 1").fetchall()
    assert weeks == [("2023-W01", 3600), ("2023-W02", 3600), ("2023-W03", 3600)]
    assert con.sql("select count(distinct week) from state_geometry").fetchone()[0] == 3


def test_definitions_load_from_config_folder(obs_root):
    import importlib

    write_config(obs_root, "plant_a")
    write_config(obs_root, "plant_b")
    (obs_root / "observations" / "datasets" / "broken.yaml").write_text("paths: {}\n")
    from pipeline_project.definitions import build_definitions

    defs = build_definitions()
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert "observations/plant_a/manifold" in keys and "observations/plant_b/weekly_observations" in keys
    assert not any("broken" in k for k in keys)
    sensor = defs.resolve_sensor_def("observations_plant_a_files")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_job_def("observations_plant_b_ingest") is not None
