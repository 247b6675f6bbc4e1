"""How bibliography runs start: after the documents of a batch are stored (automation), and again for
batches whose references wait for a service or whose downloads failed (retry sensor)."""

import datetime as dt

import dagster as dg
import duckdb

from pipeline_project.defs.bibliography import warehouse_io as io
from pipeline_project.defs.bibliography.jobs import bibliography_enrich_job, bibliography_job
from pipeline_project.lib import ledger, runs
from pipeline_project.lib.warehouse import WarehouseResource, connect

bibliography_automation_sensor = dg.AutomationConditionSensorDefinition(
    "bibliography_automation_sensor",
    target=dg.AssetSelection.groups("bibliography"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Extracts a batch's references once the documents domain has stored its pages, then enriches "
    "them, queues and fetches the open-access PDFs of the cited works (each stage as its parent finishes).",
)


def batches_to_retry(warehouse, now: dt.datetime | None = None) -> dict[str, str]:
    """Batch → why it should run again: references waiting whose retry time has come, references or
    downloads that failed and have attempts left."""
    now = now or dt.datetime.now(dt.timezone.utc)
    with connect(warehouse) as conn:
        ledger.ensure_ledger(conn)
        rows = conn.execute(
            f"""SELECT partition_key, stage, state, json_extract_string(detail, '$.retry_at')
                FROM {ledger.TABLE} WHERE domain = ? AND stage IN (?, ?) AND state IN (?, ?)""",
            [io.DOMAIN, io.ENRICH, io.DOWNLOAD, ledger.PENDING, ledger.FAILED]).fetchall()
    due: dict[str, str] = {}
    for batch, stage, state, retry_at in rows:
        if batch is None:
            continue
        if state == ledger.PENDING and stage == io.ENRICH:
            when = dt.datetime.fromisoformat(retry_at) if retry_at else now
            if when > now:
                continue
            due.setdefault(batch, "references waiting for a service")
        elif state == ledger.FAILED:
            due.setdefault(batch, f"{stage} failures to retry")
    return due


@dg.sensor(
    job=bibliography_enrich_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-runs enrichment (and the downloads after it) for batches whose references are waiting for "
    "Crossref or OpenAlex (circuit open, daily allowance spent) once their retry time has come, and for "
    "failures with attempts left. Nothing is lost while a service is down; it is asked again later.",
)
def bibliography_retry_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    quick = WarehouseResource(database=warehouse.database, url=warehouse.url, lock_wait_seconds=20.0)  # a tick: 60 s
    try:
        due = batches_to_retry(quick)
    except duckdb.IOException as exc:
        return dg.SkipReason(f"warehouse busy: {exc}")
    busy = set()
    for job in (bibliography_enrich_job.name, bibliography_job.name):
        busy |= runs.partitions_in_flight(context.instance, job)
    todo = {b: why for b, why in due.items() if b not in busy}
    if not todo:
        return dg.SkipReason("nothing waiting" if not due else f"{len(due)} batches due, already running")
    return dg.SensorResult(run_requests=[
        dg.RunRequest(partition_key=b, tags={"ocr_batch": b, "bibliography/retry": why[:60]},
                      run_key=runs.attempt_run_key(context.instance, bibliography_enrich_job.name, b))
        for b, why in sorted(todo.items())])
