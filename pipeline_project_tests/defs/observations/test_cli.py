"""The CLI: run resumes, status reports, reset wipes; a SIGKILLed run resumes to a clean result."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import dagster as dg
import pandas as pd
import pytest

from pipeline_project.defs.observations import cli, state
from pipeline_project.defs.observations.assets import asset_key
from pipeline_project.defs.observations.config import load_config
from pipeline_project.defs.observations.resources import observations_store
from pipeline_project_tests.defs.observations.conftest import WEEKS, write_config
from pipeline_project.samples.matfiles import make_dataset

OUTPUTS = ["observations.parquet", "typology_raw.parquet", "typology.parquet",
           "output/state_geometry.parquet", "output/eigendecomposition.parquet"]


def test_register_adds_observations_subcommands():
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["observations", "run", "x.yaml", "--ingest-only"])
    assert args.func is cli.cmd_run and args.ingest_only
    assert parser.parse_args(["observations", "reset", "x.yaml", "--from", "2023-W01"]).func is cli.cmd_reset


def test_run_status_resume_and_modes(dataset, config_path, capsys):
    config, _ = dataset
    assert cli.main(["run", str(config_path), "--ingest-only"]) == 0
    assert not state.typology_raw_path(config, WEEKS[0]).exists()
    assert cli.main(["run", str(config_path), "--compute-only", "--skip-manifold"]) == 0
    assert state.typology_path(config, WEEKS[0]).exists()
    assert not (state.output_dir(config, WEEKS[0]) / "state_geometry.parquet").exists()
    capsys.readouterr()
    assert cli.main(["run", str(config_path)]) == 0  # only the manifold and what follows it
    out = capsys.readouterr().out
    for week in ("2023-W01", "2023-W02", "2023-W03"):
        assert f"{week}  manifold" in out and f"{week}  sql_analysis" in out
    assert "weekly_observations" not in out
    assert cli.main(["run", str(config_path)]) == 0
    assert capsys.readouterr().out.count("up to date") == 3
    assert cli.main(["status", str(config_path), "--json"]) == 0
    weeks = json.loads(capsys.readouterr().out)["weeks"]
    assert [(w["week"], w["files"], w["rows"], w["signals"], w["due"]) for w in weeks] == \
        [(f"2023-W0{i}", 2, 3600, 3, []) for i in (1, 2, 3)]


def test_run_prints_a_line_per_week_and_stage_and_keeps_the_full_log_in_a_file(dataset, config_path, capsys):
    assert cli.main(["run", str(config_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert not any("DEBUG" in line or "STEP_" in line for line in lines)  # no event log on the terminal
    assert "2023-W01  weekly_observations  done  2 files, 3,600 rows, 3 signals, 0 quarantined" in out
    assert len([line for line in lines if " done " in line]) == 3 * 6
    summary = lines[-1]
    assert summary.startswith("done: 3 week(s) run, 18 stage(s) materialized, 6 files, 10,800 rows, 0 quarantined, "
                              "0 failed")
    log_file = summary.rsplit("Full log: ", 1)[1]
    text = open(log_file).read()
    assert "STEP_SUCCESS" in text and "ASSET_MATERIALIZATION" in text  # the full log is in the file
    capsys.readouterr()
    cli.main(["run", str(config_path), "--verbose"])  # --verbose also shows it on the terminal
    assert "up to date" in capsys.readouterr().out


def test_changed_file_makes_its_week_due(dataset, config_path, capsys):
    config, files = dataset
    cli.main(["run", str(config_path)])
    os.utime(files[2], ns=(os.stat(files[2]).st_mtime_ns + 1000, os.stat(files[2]).st_mtime_ns + 1000))
    capsys.readouterr()
    cli.main(["run", str(config_path)])
    out = capsys.readouterr().out
    assert "2023-W02  weekly_observations" in out
    assert "2023-W03  manifold" in out and "2023-W03  weekly_observations" not in out  # its overlap came from week 2
    assert "2023-W01  up to date" in out


def test_reset_range_with_dagster_home(dataset, config_path, tmp_path, monkeypatch, capsys):
    config, _ = dataset
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli.main(["run", str(config_path)]) == 0
    assert cli.main(["reset", str(config_path), "--from", "2023-W02", "--to", "2023-01-20", "--yes"]) == 0
    assert state.week_dir(config, WEEKS[0]).exists()
    assert not state.week_dir(config, WEEKS[1]).exists() and not state.week_dir(config, WEEKS[2]).exists()
    with dg.DagsterInstance.get() as instance:
        try:  # SQLite storage cannot wipe single partitions (see cli.cmd_reset)
            instance.wipe_asset_partitions(asset_key(config, "typology"), [])
            assert instance.get_materialized_partitions(asset_key(config, "typology")) == {WEEKS[0]}
        except NotImplementedError:
            pass
    capsys.readouterr()
    assert cli.main(["run", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert "2023-W01  up to date" in out and "2023-W03  weekly_observations" in out


def test_reset_refuses_without_yes_when_not_interactive(dataset, config_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    cli.main(["run", str(config_path), "--ingest-only"])
    assert cli.main(["reset", str(config_path)]) == 2
    assert state.observations_path(dataset[0], WEEKS[0]).exists()


def test_bad_config_is_a_clear_error(obs_root, capsys):
    path = obs_root / "bad.yaml"
    path.write_text("paths: {raw_dir: x}\n")
    assert cli.main(["status", str(path)]) == 2
    assert "paths.output_dir is required" in capsys.readouterr().err


def _frames(config):
    out = {}
    for key in WEEKS:
        for rel in OUTPUTS:
            frame = pd.read_parquet(state.week_dir(config, key) / rel)
            out[(key, rel)] = frame.astype({c: str for c in frame.columns if str(frame[c].dtype) == "category"})
    return out


@pytest.mark.timeout(300)
def test_sigkill_mid_run_then_resume_equals_clean_run(obs_root):
    config = load_config(write_config(obs_root))
    make_dataset(config.raw_dir, weeks=3, files_per_week=3, n=2000)
    clean_path = write_config(obs_root, "clean")
    clean = load_config(clean_path)
    shutil.copytree(config.raw_dir, clean.raw_dir)  # copytree keeps mtimes
    assert cli.main(["run", str(clean_path)]) == 0

    cmd = [sys.executable, "-m", "pipeline_project.defs.observations.cli", "run", str(config.source)]
    proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not state.observations_path(config, WEEKS[1]).exists() and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
    assert state.observations_path(config, WEEKS[0]).exists()
    assert state.read_marker(observations_store().warehouse, config, WEEKS[2], "sql_analysis") is None
    assert cli.main(["run", str(config.source)]) == 0
    ours, theirs = _frames(config), _frames(clean)
    for key, frame in theirs.items():
        pd.testing.assert_frame_equal(ours[key], frame, check_like=True)
    obs = ours[(WEEKS[1], "observations.parquet")]
    assert not obs.duplicated(["timestamp", "signal", "source_file"]).any()


def _history(obs_root, **partitioning):
    """A dataset written with the documented keys, recordings from 1990."""
    import datetime as dt

    import numpy as np

    from pipeline_project.samples.matfiles import set_mtime, write_v5

    path = write_config(obs_root, "history")
    doc = __import__("yaml").safe_load(path.read_text())
    doc["partitioning"] = {"files_per_flush": 1, **partitioning}
    path.write_text(__import__("yaml").safe_dump(doc))
    config = load_config(path)
    for day in (dt.datetime(1990, 3, 6, 10), dt.datetime(1990, 3, 14, 10)):
        set_mtime(write_v5(config.raw_dir / f"rec_{day:%Y%m%d}.mat", {"a": np.sin(np.arange(400.0))}), day)
    return path


def test_recordings_from_1990_are_processed_without_a_start_key(obs_root, capsys):
    path = _history(obs_root)
    assert cli.main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "weeks from 1990-W10" in out and "1990-W11  weekly_observations  done  1 files" in out
    assert "done: 2 week(s) run" in out


def test_recordings_before_a_configured_start_are_refused_by_name(obs_root, capsys):
    path = _history(obs_root, start="2000-01-03")
    assert cli.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "rec_19900306.mat (1990-W10)" in err and "rec_19900314.mat (1990-W11)" in err
    assert "set partitioning.start to 1990-03-05 or earlier" in err and str(path) in err


def test_the_readme_partition_range_command_materializes_a_week_range(dataset, obs_root, tmp_path):
    """As README.md and docs/OBSERVATIONS.md show it, with the project's Dagster instance."""
    config, _ = dataset
    env = dict(os.environ, DAGSTER_HOME=str(obs_root / "dagster_home"))
    subprocess.run([sys.executable, "-m", "pipeline_project.cli", "init"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "dagster"), "asset", "materialize",
         "-m", "pipeline_project.definitions", "--select", 'key:"observations/demo/*"',
         "--partition-range", f"{WEEKS[0]}...{WEEKS[1]}"],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        for stage in state.STAGES:
            assert instance.get_materialized_partitions(asset_key(config, stage)) == set(WEEKS[:2]), stage
        runs = instance.get_runs()
        assert len(runs) == 1  # one run for the whole range: every asset has a single-run backfill policy
