"""When is a crawl run's work done? The crawl has ended, none of its item files waits in the inbox,
and every web batch cut since it started has been embedded (or its run has ended in failure)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline_project.defs.web.batching import is_web_batch_id, items_dir
from pipeline_project.defs.web.crawl_log import RunView


def _started_stamp(run: RunView) -> str:
    started = run.state.get("started_at") or ""
    try:
        moment = dt.datetime.fromisoformat(started)
    except ValueError:
        return ""
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")


def items_waiting(inbox: Path, run: RunView) -> int:
    folder = items_dir(inbox)
    return sum(1 for e in run.saved() if (folder / e.get("item", "")).is_file())


def unfinished_batches(instance, run: RunView) -> list[str]:
    import dagster as dg

    from pipeline_project.defs.documents.partitions import ocr_batches
    from pipeline_project.lib.runs import finished_runs

    since = _started_stamp(run)
    mine = [b for b in instance.get_dynamic_partitions(ocr_batches.name) if is_web_batch_id(b) and b[:15] >= since]
    done = instance.get_materialized_partitions(dg.AssetKey("embeddings"))
    return [b for b in mine if b not in done and finished_runs(instance, "documents_job", b) == 0]


def settled(instance, inbox: Path, run: RunView) -> bool:
    return run.finished and items_waiting(inbox, run) == 0 and not unfinished_batches(instance, run)
