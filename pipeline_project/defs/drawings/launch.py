"""Starting a comparison's run at once, through the Dagster UI, when one is known (PIPELINE_DAGSTER_URL,
set by `pipeline-project dev` for its web server).

A sensor ticks every few seconds, and only then requests the run; a reviewer who has just uploaded a
pair waits for that. So the web server (and `drawings compare`) launch the run themselves through the
UI's GraphQL API and fall back to the sensor when no UI answers:

1. `submit(..., launching=True)` stores the comparison with `launched_at` set, in the same insert;
2. `launch_now` asks the UI to queue the run; on success the run id is recorded, on failure
   `launched_at` is cleared again and the next sensor tick requests the run as usual.

The sensor leaves a comparison alone while its launch is recent (LAUNCH_GRACE_SECONDS) and while any
run of it is queued or running, so the same comparison never gets two runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

LAUNCH_GRACE_SECONDS = 60.0  # a UI launch that has not shown a run by then has failed: the sensor takes over


def ui_configured() -> bool:
    from pipeline_project.lib.web.dagster_ui import dagster_url

    return dagster_url() is not None


def launch_pending(row: dict, now: dt.datetime | None = None) -> bool:
    """Whether a direct launch of this comparison may still be on its way (the sensor waits)."""
    from pipeline_project.defs.drawings import tables

    launched = row.get("launched_at")
    if launched is None or row.get("launched_run_id"):
        return False
    return ((now or tables.now()) - launched).total_seconds() < LAUNCH_GRACE_SECONDS


def launch_now(warehouse, job_id: str, *, launched_by: str, log: Callable[[str], None] = lambda m: None) -> str | None:
    """Queue the comparison's run through the Dagster UI; the run id, or None (the sensor will do it)."""
    from pipeline_project.defs.drawings import tables
    from pipeline_project.defs.drawings.jobs import drawings_comparison_job
    from pipeline_project.lib.warehouse import connect
    from pipeline_project.lib.web.dagster_ui import LaunchUnavailable, launch_partition_run

    try:
        run_id = launch_partition_run(drawings_comparison_job.name, job_id,
                                      tags={"drawing_comparison": job_id, "launched_by": launched_by})
    except LaunchUnavailable as exc:
        log(f"comparison {job_id}: {exc}; the drawings sensor requests the run instead")
        with connect(warehouse) as conn:
            tables.set_launched_run(conn, job_id, None)
        return None
    with connect(warehouse) as conn:
        tables.set_launched_run(conn, job_id, run_id)
    return run_id
