"""The intake sensor (the OCR dispatcher: cuts batches from the inbox) and the automation sensor for the
documents group."""


import json
import time

import dagster as dg

from pipeline_project.defs.documents import batching
from pipeline_project.defs.documents.jobs import documents_job
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.lib import runs
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.settings import env_float, env_int



def batch_policy() -> batching.BatchPolicy:
    return batching.BatchPolicy(
        min_pages=env_int("PIPELINE_BATCH_MIN_PAGES", 1000),
        max_wait_seconds=env_float("PIPELINE_BATCH_MAX_WAIT_SECONDS", 10.0),
    )


def _pipeline_idle(instance: dg.DagsterInstance) -> bool:
    return not runs.in_flight(instance, documents_job.name)


def cut_batches(instance: dg.DagsterInstance, storage: StorageResource, cursor: str | None,
                policy: batching.BatchPolicy, now: float | None = None, force: bool = False):
    """Claim new batches from the inbox. Returns (batch ids to register and run, new cursor, waiting files).

    Also picks up batches claimed on disk whose partition was never registered (a crash between the
    two), so no claimed file is ever stranded."""
    now = time.time() if now is None else now
    known = json.loads(cursor) if cursor else {}
    registered = set(instance.get_dynamic_partitions(ocr_batches.name))
    orphans = [b for b in batching.batch_ids_on_disk(storage.batches) if b not in registered]
    for batch_id in orphans:
        batching.finish_claim(storage.batches / batch_id, storage.inbox)
    waiting = batching.scan_inbox(storage.inbox, known, policy, now)
    idle = force or (not orphans and _pipeline_idle(instance))
    planned = batching.plan_batches(waiting, policy, now, idle=idle)
    new_ids = [batching.claim_batch(storage.batches, storage.inbox, files, now) for files in planned]
    claimed = {f.path for files in planned for f in files}
    still_waiting = [f for f in waiting if f.path not in claimed]
    new_cursor = {f.path: {"size": f.size, "mtime": f.mtime, "pages": f.pages, "first_seen": f.first_seen}
                  for f in still_waiting}
    return orphans + new_ids, json.dumps(new_cursor), still_waiting


@dg.sensor(
    job=documents_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Counts the pages of PDFs waiting in the inbox and cuts an OCR batch when "
    "≥ PIPELINE_BATCH_MIN_PAGES (1000) are waiting, when the oldest has waited "
    "PIPELINE_BATCH_MAX_WAIT_SECONDS (10), or at once when nothing else is running.",
)
def ocr_batch_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    batch_ids, cursor, waiting = cut_batches(context.instance, storage, context.cursor, batch_policy())
    if not batch_ids:
        pages = sum(f.pages for f in waiting)
        context.update_cursor(cursor)
        return dg.SkipReason(f"{len(waiting)} files ({pages} pages) waiting; no batch due yet"
                             if waiting else "inbox is empty")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=b, partition_key=b, tags={"ocr_batch": b}) for b in batch_ids],
        dynamic_partitions_requests=[ocr_batches.build_add_request(batch_ids)],
        cursor=cursor,
    )


documents_automation_sensor = dg.AutomationConditionSensorDefinition(
    "documents_automation_sensor",
    target=dg.AssetSelection.groups("documents"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
    description="Carries a batch materialized by hand (e.g. raw_pdfs in the UI) on through the chain.",
)
