"""The file sensor: new weeks, no retrigger on unchanged files, late files, and the overlap."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np

from pipeline_project.defs.observations import stages
from pipeline_project.defs.observations.resources import observations_store
from pipeline_project.defs.observations.sensors import build_sensor
from pipeline_project_tests.defs.observations.conftest import WEEKS
from pipeline_project.samples.matfiles import set_mtime, write_v5


def evaluate(config, cursor=None):
    sensor = build_sensor(config)
    with dg.build_sensor_context(cursor=cursor, resources={"observations_store": observations_store()}) as context:
        return sensor(context)


def tick(config, cursor=None):
    result = evaluate(config, cursor)
    return result.run_requests, result.cursor


def run_stages(config, key, *names):
    store = observations_store()
    for name in names:
        if name == "ingest":
            stages.ingest(config, key, store.warehouse, store.storage_root)
        else:
            getattr(stages, name)(config, key, store.warehouse)


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
        run_stages(config, key, "ingest", "typology", "classify", "build_manifest", "compute_manifold")
    late = write_v5(config.raw_dir / "late" / "late.mat", {"X": np.random.default_rng(9).normal(size=(600, 3)),
                                                           "names": np.array(["walk", "sine", "noise"], dtype=object)})
    set_mtime(late, dt.datetime(2023, 1, 4, 8))
    requests, cursor = tick(config, cursor)
    assert [r.partition_key for r in requests] == [WEEKS[0]]
    assert {k.path[-1] for k in requests[0].asset_selection} >= {"weekly_observations", "manifold", "sql_analysis"}
    run_stages(config, WEEKS[0], "ingest")  # the week-1 run re-ingests ...
    requests, cursor = tick(config, cursor)  # ... so week 2's manifold (its overlap) is stale now
    assert [(r.partition_key, sorted(k.path[-1] for k in r.asset_selection)) for r in requests] == \
        [(WEEKS[1], ["manifold", "sql_analysis"])]


def test_weeks_done_by_the_cli_are_not_requested(dataset):
    config, _ = dataset
    run_stages(config, WEEKS[0], "ingest", "typology", "classify", "build_manifest", "compute_manifold",
               "sql_analysis")
    requests, _ = tick(config)
    assert sorted(r.partition_key for r in requests) == WEEKS[1:]


def test_files_before_the_configured_start_are_named_never_skipped_silently(dataset):
    config, _ = dataset  # partitioning.start: 2022-12-26
    old = write_v5(config.raw_dir / "old.mat", {"a": np.arange(10.0)})
    set_mtime(old, dt.datetime(2019, 5, 1))
    result = evaluate(config)
    assert sorted(r.partition_key for r in result.run_requests) == WEEKS  # the weeks in range go on
    _, cursor = tick(config)
    run_stages(config, WEEKS[0], "ingest")
    quiet = evaluate(config, cursor)  # nothing new to run: the tick's reason is the refused file
    assert "old.mat (2019-W18)" in quiet.skip_reason.skip_message
    assert "set partitioning.start to 2019-04-29 or earlier" in quiet.skip_reason.skip_message


def test_without_a_start_the_first_week_is_the_earliest_file_s(obs_root):
    from pipeline_project.defs.observations.config import load_config
    from pipeline_project.defs.observations.partitions import weekly_partitions
    from pipeline_project_tests.defs.observations.conftest import write_config

    path = write_config(obs_root, "history")
    text = path.read_text().replace("start: '2022-12-26'", "").replace("start: 2022-12-26", "")
    path.write_text(text)
    config = load_config(path)
    assert config.start_date is None
    for day in (dt.datetime(1990, 3, 6, 10), dt.datetime(1990, 3, 14, 10)):
        set_mtime(write_v5(config.raw_dir / f"{day:%Y%m%d}.mat", {"a": np.arange(50.0)}), day)
    assert weekly_partitions(config).get_first_partition_window().start.date() == dt.date(1990, 3, 5)
    requests, _ = tick(config)
    assert sorted(r.partition_key for r in requests) == ["1990-03-05", "1990-03-12"]
