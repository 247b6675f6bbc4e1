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


def test_a_comparison_launched_through_the_ui_gets_no_second_run(tmp_path, instance, storage, warehouse):
    """The web server marks a comparison before launching its run through the Dagster UI: the sensor
    leaves it alone while that launch is on its way and while the run waits in the queue."""
    from pipeline_project.defs.drawings import launch, tables
    from pipeline_project.lib.warehouse import connect

    pair = samples.revision_pair(tmp_path / "src", pages=1, seed=12)
    sub = submit(storage.root_path, warehouse, pair.old, pair.new, source="api", owner="user", launching=True)
    assert isinstance(tick(instance, storage, warehouse), dg.SkipReason), "its launch is on its way"

    # its run exists but has not started (queued): Dagster's "in progress" statuses leave such runs out
    queued = dg.DagsterRun(job_name="drawings_comparison_job", run_id="0" * 8 + "-aaaa-bbbb-cccc-" + "0" * 12,
                           status=dg.DagsterRunStatus.NOT_STARTED, tags={"dagster/partition": sub.job_id})
    instance.add_run(queued)
    with connect(warehouse) as conn:
        tables.set_launched_run(conn, sub.job_id, queued.run_id)
    assert isinstance(tick(instance, storage, warehouse), dg.SkipReason), "its run is waiting to start"

    # a launch that never produced a run: after the grace period the sensor requests one
    instance.delete_run(queued.run_id)
    later = tables.now() + __import__("datetime").timedelta(seconds=launch.LAUNCH_GRACE_SECONDS + 1)
    with connect(warehouse) as conn:
        tables.set_launched_run(conn, sub.job_id, None)  # (what a failed launch records)
        row = tables.comparison(conn, sub.job_id)
    assert not launch.launch_pending(row, later)
    (request,) = tick(instance, storage, warehouse).run_requests
    assert request.partition_key == sub.job_id


def test_a_launch_with_no_ui_to_ask_leaves_the_run_to_the_sensor(tmp_path, instance, storage, warehouse, monkeypatch):
    from pipeline_project.defs.drawings.launch import launch_now
    from pipeline_project.lib.web.dagster_ui import DAGSTER_URL_ENV

    with __import__("socket").socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv(DAGSTER_URL_ENV, f"http://127.0.0.1:{s.getsockname()[1]}")
    pair = samples.revision_pair(tmp_path / "src", pages=1, seed=13)
    sub = submit(storage.root_path, warehouse, pair.old, pair.new, source="api", owner="user", launching=True)
    notes = []
    assert launch_now(warehouse, sub.job_id, launched_by="api", log=notes.append) is None
    assert "cannot be reached" in notes[0] and "sensor requests the run" in notes[0]
    (request,) = tick(instance, storage, warehouse).run_requests
    assert request.partition_key == sub.job_id
