"""The drawings sensor: the inbox folders in, comparison runs out.

Each tick (every 5 s):
1. Every folder $PIPELINE_DATA_DIR/inbox/drawings/<name>/ holding old.pdf and new.pdf, both untouched
   for DRAWINGS_SETTLE_SECONDS (default 3: a copy still in progress keeps changing them), is submitted
   as comparison <name>; the files move into the comparison's folder and the inbox folder is removed.
2. Every comparison waiting for a run — submitted here, by `pipeline-project drawings compare` or by
   POST /api/v1/jobs — gets its partition registered and a run requested (again, up to 3 runs, if a
   run ended before it could start the comparison). A run that dies mid-way is re-executed by the
   instance's run retries (dagster.yaml) and resumes at the first page not done.
   The web server and the CLI launch their comparisons' runs at once through the Dagster UI when one
   is known (launch.py); the sensor leaves those alone while the launch is on its way and while any
   run of the comparison is queued or running, and requests the run itself when the launch failed.
"""

import time
from pathlib import Path

import dagster as dg

from pipeline_project.defs.drawings.jobs import drawings_comparison_job
from pipeline_project.defs.drawings.partitions import drawing_comparisons
from pipeline_project.lib.settings import env_float
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource

MAX_RUNS_PER_COMPARISON = 3
INBOX_FOLDER = "drawings"


def _named(folder: Path, stem: str) -> Path | None:
    for path in folder.iterdir():
        if path.is_file() and path.name.lower() == f"{stem}.pdf":
            return path
    return None


def ready_pairs(inbox: Path, settle_seconds: float, now: float | None = None) -> list[tuple[str, Path, Path]]:
    """(name, old, new) for inbox/drawings/<name>/ folders whose two files have settled."""
    root = inbox / INBOX_FOLDER
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        old, new = _named(folder, "old"), _named(folder, "new")
        if old is None or new is None:
            continue
        try:
            if min(now - old.stat().st_mtime, now - new.stat().st_mtime) < settle_seconds:
                continue
        except FileNotFoundError:
            continue
        out.append((folder.name, old, new))
    return out


def take_inbox(storage: StorageResource, warehouse: WarehouseResource, log) -> list[str]:
    from pipeline_project.defs.drawings.submissions import submit
    from pipeline_project.lib.quarantine import PIPELINE

    ids = []
    for name, old, new in ready_pairs(storage.inbox, env_float("DRAWINGS_SETTLE_SECONDS", 3.0)):
        try:
            sub = submit(storage.root_path, warehouse, old, new, name=name, source="inbox", owner=PIPELINE,
                         labels=(f"{name}/{old.name}", f"{name}/{new.name}"))
        except OSError as exc:
            log(f"inbox/drawings/{name}: cannot be read yet ({exc})")
            continue
        try:
            old.parent.rmdir()
        except OSError:
            pass  # other files were left in the folder: leave them for the user
        log(f"inbox/drawings/{name}: comparison {sub.job_id} ({'new' if sub.created else 'already submitted'})")
        ids.append(sub.job_id)
    return ids


def waiting_comparisons(instance: dg.DagsterInstance, warehouse: WarehouseResource) -> list[tuple[str, int]]:
    """(job id, runs already finished) of comparisons that need a run now."""
    from pipeline_project.defs.drawings import tables
    from pipeline_project.defs.drawings.launch import launch_pending
    from pipeline_project.lib import runs
    from pipeline_project.lib.warehouse import connect

    tables.ensure_tables(warehouse)
    with connect(warehouse) as conn:
        rows = tables.comparisons(conn, ["pending"])
    out = []
    for row in rows:
        key = row["job_id"]
        if launch_pending(row):
            continue  # the web server or the CLI is launching its run through the Dagster UI
        tags = {runs.PARTITION_TAG: key}
        if instance.get_runs_count(dg.RunsFilter(statuses=runs.ACTIVE, tags=tags)):
            continue  # queued or running (launched by this sensor, through the UI, or by `compare --wait`)
        finished = runs.finished_runs(instance, drawings_comparison_job.name, key)
        if finished < MAX_RUNS_PER_COMPARISON:
            out.append((key, finished))
    return out


@dg.sensor(job=drawings_comparison_job, minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Submits inbox/drawings/<name>/{old,new}.pdf pairs and requests a run for every comparison "
           "waiting (from the inbox, the CLI or POST /api/v1/jobs).")
def drawings_sensor(context: dg.SensorEvaluationContext, storage: StorageResource, warehouse: WarehouseResource):
    take_inbox(storage, warehouse, context.log.info)
    waiting = waiting_comparisons(context.instance, warehouse)
    if not waiting:
        return dg.SkipReason("no comparison waiting for a run")
    keys = [k for k, _ in waiting]
    known = set(context.instance.get_dynamic_partitions(drawing_comparisons.name))
    missing = [k for k in keys if k not in known]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=k, run_key=f"{k}#{n}", tags={"drawing_comparison": k})
                      for k, n in waiting],
        dynamic_partitions_requests=[drawing_comparisons.build_add_request(missing)] if missing else [],
    )
