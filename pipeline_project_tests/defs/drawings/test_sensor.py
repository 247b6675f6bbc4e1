"""The drawings sensor: inbox folders become comparisons; waiting comparisons get one run each."""

from __future__ import annotations

import os
import time

import dagster as dg

from pipeline_project.defs.drawings import progress
from pipeline_project.defs.drawings.sensors import drawings_sensor
from pipeline_project.defs.drawings.submissions import input_path, submit
from pipeline_project.samples import drawings as samples


def settle(*paths, seconds=10.0):
    stamp = time.time() - seconds
    for p in paths:
        os.utime(p, (stamp, stamp))


def tick(instance, storage, warehouse):
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage, "warehouse": warehouse})
    return drawings_sensor(context)


def test_inbox_folder_becomes_one_comparison_and_one_run(tmp_path, instance, storage, warehouse):
    folder = storage.inbox / "drawings" / "clinic-rev-c"
    pair = samples.revision_pair(folder, pages=2, seed=9)
    settle(pair.old, pair.new)
    result = tick(instance, storage, warehouse)
    (request,) = result.run_requests
    job_id = request.partition_key
    assert result.dynamic_partitions_requests[0].partition_keys == [job_id]
    assert not folder.exists(), "the inbox folder is consumed"
    assert input_path(storage.root_path, job_id, "old").is_file()
    p = progress.job_progress(warehouse, job_id)
    assert p["status"] == "pending" and p["name"] == "clinic-rev-c"
    # the next tick asks for the same run under the same run key: Dagster launches it once
    assert [r.run_key for r in tick(instance, storage, warehouse).run_requests] == [request.run_key]


def test_a_pair_still_being_copied_waits(tmp_path, instance, storage, warehouse):
    folder = storage.inbox / "drawings" / "in-transit"
    pair = samples.revision_pair(folder, pages=1, seed=10)
    settle(pair.old)  # new.pdf was just written
    result = tick(instance, storage, warehouse)
    assert isinstance(result, dg.SkipReason) and folder.exists()
    (folder / "new.pdf").unlink()
    settle(pair.old)
    assert isinstance(tick(instance, storage, warehouse), dg.SkipReason), "half a pair is not a comparison"


def test_same_pair_again_through_the_inbox_is_no_new_work(tmp_path, instance, storage, warehouse):
    pair = samples.revision_pair(tmp_path / "src", pages=1, seed=11)
    first = submit(storage.root_path, warehouse, pair.old, pair.new, source="cli", owner="user")
    folder = storage.inbox / "drawings" / "again"
    folder.mkdir(parents=True)
    for side in ("old", "new"):
        (folder / f"{side}.pdf").write_bytes((tmp_path / "src" / f"{side}.pdf").read_bytes())
        settle(folder / f"{side}.pdf")
    result = tick(instance, storage, warehouse)
    assert [r.partition_key for r in result.run_requests] == [first.job_id]
    assert not folder.exists(), "the duplicate copies were the pipeline's: removed"
