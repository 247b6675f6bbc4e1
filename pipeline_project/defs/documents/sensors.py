"""The intake sensor (the OCR dispatcher: cuts batches from the inbox) and the automation sensor for the
documents group. The decision itself is batching.dispatch (rule in dispatch_policy.py)."""


import json
import time
from dataclasses import dataclass

import dagster as dg

from pipeline_project.defs.documents import batching, dispatch_policy
from pipeline_project.defs.documents.jobs import chain_run_request, documents_job
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.lib.automation import EVERY_DAEMON_LOOP_SECONDS
from pipeline_project.lib import runs
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.settings import env_float, env_int, env_str


# A sensor tick has 60 s: new PDFs are opened (pages counted) for at most this long per tick.
COUNT_BUDGET_SECONDS = 20.0


def instance_storage_kind(instance: dg.DagsterInstance) -> str:
    """"sqlite" or the name of the server database behind the instance's event log."""
    name = type(instance.event_log_storage).__name__.lower()
    for kind in ("sqlite", "postgres", "mysql"):
        if kind in name:
            return kind
    return name


def dispatch_settings(instance: dg.DagsterInstance | None = None) -> dispatch_policy.DispatchSettings:
    """The dispatcher's settings for the configured OCR engine, with any override from the environment."""
    engine = env_str("PIPELINE_OCR_ENGINE", "local").lower()
    minutes = env_float("PIPELINE_BATCH_MAX_WAIT_MINUTES", -1.0)
    max_wait = env_float("PIPELINE_BATCH_MAX_WAIT_SECONDS", minutes * 60 if minutes >= 0 else -1.0)
    quiet = env_int("PIPELINE_BATCH_QUIET_MINUTES", -1)  # 0: never latency-first
    kind = instance_storage_kind(instance) if instance is not None else "sqlite"
    return dispatch_policy.for_engine(
        engine,
        min_pages=env_int("PIPELINE_BATCH_MIN_PAGES", 1000),
        max_wait_seconds=max_wait if max_wait >= 0 else None,
        latency_first=False if quiet == 0 else (True if quiet > 0 else None),
        quiet_minutes=quiet if quiet > 0 else None,
        budget=env_int("PIPELINE_PARTITION_BUDGET", dispatch_policy.partition_budget_default(kind)),
        warn_fraction=env_float("PIPELINE_PARTITION_BUDGET_WARN", 0.5),
    )


def batch_policy() -> batching.BatchPolicy:
    """The policy `drain` and tests use to cut everything waiting at once (force=True)."""
    settings = dispatch_settings()
    return batching.BatchPolicy(min_pages=settings.min_pages, max_wait_seconds=settings.max_wait_seconds)


def run_slots(instance: dg.DagsterInstance) -> int:
    """How many runs the instance starts at once (the queued run coordinator's max_concurrent_runs)."""
    try:
        slots = instance.run_coordinator.get_run_queue_config().max_concurrent_runs
    except Exception:  # another run coordinator: the project's own default
        slots = env_int("PIPELINE_MAX_CONCURRENT_RUNS", 2)
    return 1_000_000 if slots == -1 else max(1, slots)


def _run_slot_free(instance: dg.DagsterInstance) -> bool:
    """Could a documents run start now? (queued runs count as taking a slot)"""
    return len(runs.in_flight(instance, documents_job.name)) < run_slots(instance)


@dataclass
class Tick:
    batch_ids: list[str]  # to register and run: orphans found on disk, then new batches
    cursor: str
    waiting: list[batching.WaitingFile]
    decision: dispatch_policy.Decision | None
    partitions_used: int  # registered ocr_batches partitions, counting this tick's new ones


def _read_cursor(cursor: str | None) -> tuple[dict, dispatch_policy.DispatchHistory]:
    data = json.loads(cursor) if cursor else {}
    if "files" not in data:  # a cursor written before the adaptive policy: only the file cache
        return data, dispatch_policy.DispatchHistory()
    return data["files"], dispatch_policy.DispatchHistory(tuple(data.get("busy_minutes", ())),
                                                          tuple(data.get("latency_cuts", ())))


def dispatch_tick(instance: dg.DagsterInstance, storage: StorageResource, cursor: str | None,
                  policy: batching.BatchPolicy | None = None, now: float | None = None, force: bool = False,
                  settings: dispatch_policy.DispatchSettings | None = None) -> Tick:
    """Claim new batches from the inbox. `force` cuts everything waiting with `policy` (drain, tests).

    Also picks up batches claimed on disk whose partition was never registered (a crash between the
    two), so no claimed file is ever stranded."""
    now = time.time() if now is None else now
    policy = policy or batch_policy()
    settings = settings or dispatch_settings(instance)
    known, history = _read_cursor(cursor)
    registered = set(instance.get_dynamic_partitions(ocr_batches.name))
    orphans = [b for b in batching.batch_ids_on_disk(storage.batches) if b not in registered]
    for batch_id in orphans:
        batching.finish_claim(storage.batches / batch_id, storage.inbox)
    waiting = batching.scan_inbox(storage.inbox, known, policy, now,
                                  count_budget_seconds=None if force else COUNT_BUDGET_SECONDS)
    decision = None
    if force:
        planned = batching.plan_batches(waiting, policy, now, idle=True)
        history = history.with_arrivals([f.first_seen for f in waiting], now)
    else:
        slot_free = not orphans and _run_slot_free(instance)
        planned, history, decision = batching.dispatch(
            waiting, settings, history, now=now, slot_free=slot_free, partitions_used=len(registered) + len(orphans),
            min_file_age_seconds=policy.min_file_age_seconds)
    new_ids = [batching.claim_batch(storage.batches, storage.inbox, files, now) for files in planned]
    claimed = {f.path for files in planned for f in files}
    still_waiting = [f for f in waiting if f.path not in claimed]
    files = {f.path: {"size": f.size, "mtime": f.mtime, "pages": f.pages, "first_seen": f.first_seen}
             for f in still_waiting}
    new_cursor = json.dumps({"files": files, "busy_minutes": list(history.busy_minutes),
                             "latency_cuts": list(history.latency_cuts)})
    return Tick(orphans + new_ids, new_cursor, still_waiting, decision,
                len(registered) + len(orphans) + len(new_ids))


def cut_batches(instance: dg.DagsterInstance, storage: StorageResource, cursor: str | None,
                policy: batching.BatchPolicy, now: float | None = None, force: bool = False):
    """(batch ids to register and run, new cursor, files still waiting): dispatch_tick, for scripts."""
    tick = dispatch_tick(instance, storage, cursor, policy, now=now, force=force)
    return tick.batch_ids, tick.cursor, tick.waiting


def _skip_message(tick: Tick) -> str:
    if not tick.waiting:
        return "inbox is empty"
    pages = sum(f.pages for f in tick.waiting)
    d = tick.decision
    due = f"; {d.mode}: a partial batch goes after {d.wait_seconds / 60:.0f} min" if d else ""
    return f"{len(tick.waiting)} files ({pages} pages) waiting; no batch due yet{due}"


@dg.sensor(
    job=documents_job,
    minimum_interval_seconds=EVERY_DAEMON_LOOP_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Cuts OCR batches from the PDFs waiting in the inbox: at once after a quiet spell (local "
    "engine, a run slot free), a full batch as soon as ≥ PIPELINE_BATCH_MIN_PAGES (1000) pages wait, a partial one after a wait "
    "that grows with how busy the last hour was (PIPELINE_BATCH_MAX_WAIT_MINUTES at most); batches grow as "
    "the partition budget fills. Rule: docs/ARCHITECTURE.md, Batching.",
)
def ocr_batch_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    tick = dispatch_tick(context.instance, storage, context.cursor)
    if not tick.batch_ids:
        context.update_cursor(tick.cursor)
        return dg.SkipReason(_skip_message(tick))
    return dg.SensorResult(
        run_requests=[chain_run_request(b) for b in tick.batch_ids],
        dynamic_partitions_requests=[ocr_batches.build_add_request(tick.batch_ids)],
        cursor=tick.cursor,
    )


documents_automation_sensor = dg.AutomationConditionSensorDefinition(
    "documents_automation_sensor",
    target=dg.AssetSelection.groups("documents"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
    description="Carries a batch materialized by hand (e.g. raw_pdfs in the UI) on through the chain.",
)
