"""The file sensor: new weeks, no retrigger on unchanged files, late files, and the overlap."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np

from pipeline_project.defs.observations import stages
from pipeline_project.defs.observations.sensors import build_sensor
from pipeline_project_tests.defs.observations.conftest import WEEKS
from pipeline_project.samples.matfiles import set_mtime, write_v5


def tick(config, cursor=None):
    sensor = build_sensor(config)
    result = sensor(dg.build_sensor_context(cursor=cursor))
    return result.run_requests, result.cursor


def test_first_tick_requests_every_week_then_nothing(dataset):
    config, _ = dataset
    requests, cursor = tick(config)
    assert sorted(r.partition_key for r in requests) == WEEKS
    assert all(len(r.asset_selection) == 6 for r in requests)
    again, cursor2 = tick(config, cursor)
    assert again == [] and cursor2 == cursor


def test_late_file_for_a_past_week_reruns_that_week_and_later_the_next_manifold(dataset):
    config, _ = dataset
    _, cursor = tick(config)
    for key in WEEKS:  # as if the three runs had happened
        stages.ingest(config, key), stages.typology(config, key), stages.classify(config, key)
        stages.build_manifest(config, key), stages.compute_manifold(config, key)
    late = write_v5(config.raw_dir / "late" / "late.mat", {"X": np.random.default_rng(9).normal(size=(600, 3)),
                                                           "names": np.array(["walk", "sine", "noise"], dtype=object)})
    set_mtime(late, dt.datetime(2023, 1, 4, 8))
    requests, cursor = tick(config, cursor)
    assert [r.partition_key for r in requests] == [WEEKS[0]]
    assert {k.path[-1] for k in requests[0].asset_selection} >= {"weekly_observations", "manifold", "sql_analysis"}
    stages.ingest(config, WEEKS[0])  # the week-1 run re-ingests ...
    requests, cursor = tick(config, cursor)  # ... so week 2's manifold (its overlap) is stale now
    assert [(r.partition_key, sorted(k.path[-1] for k in r.asset_selection)) for r in requests] == \
        [(WEEKS[1], ["manifold", "sql_analysis"])]


def test_weeks_done_by_the_cli_are_not_requested(dataset):
    config, _ = dataset
    for stage in (stages.ingest, stages.typology, stages.classify, stages.build_manifest,
                  stages.compute_manifold, stages.sql_analysis):
        stage(config, WEEKS[0])
    requests, _ = tick(config)
    assert sorted(r.partition_key for r in requests) == WEEKS[1:]


def test_files_before_the_start_are_ignored(dataset):
    config, _ = dataset
    old = write_v5(config.raw_dir / "old.mat", {"a": np.arange(10.0)})
    set_mtime(old, dt.datetime(2019, 5, 1))
    requests, _ = tick(config)
    assert sorted(r.partition_key for r in requests) == WEEKS
