"""web_items_sensor: cuts item files waiting in <inbox>/web into batches of the documents chain and
requests documents_job for each (the crawl's counterpart of ocr_batch_sensor). graph_sink_automation
carries every embedded batch on into the graph when the graph sink is on."""


import dagster as dg

from pipeline_project.defs.web.graph_settings import graph_configured
from pipeline_project.lib.storage import StorageResource


def crawl_running(storage: StorageResource) -> bool:
    """Is any crawl process still running? (PIPELINE_MODE=batch waits for them all.)"""
    from pipeline_project.defs.web.crawl_log import RUNNING
    from pipeline_project.lib.atomic import read_json

    for state in (storage.root_path / "web" / "crawls").glob("*/runs/*/state.json"):
        if (read_json(state, default={}) or {}).get("status") == RUNNING:
            return True
    return False


def cut_web_batches(instance: dg.DagsterInstance, storage: StorageResource) -> tuple[list[str], int]:
    """Claim due batches; returns (new batch ids, items still waiting)."""
    from pipeline_project.defs.web.batching import WebBatchPolicy, claim, plan, waiting_items
    from pipeline_project.defs.web.config import pipeline_mode
    from pipeline_project.lib.runs import in_flight

    waiting = waiting_items(storage.inbox)
    if not waiting:
        return [], 0
    policy = WebBatchPolicy.from_env(pipeline_mode())
    busy = bool(in_flight(instance, "documents_job"))
    planned = plan(waiting, policy, busy=busy, crawling=crawl_running(storage))
    ids = [claim(storage.batches, storage.inbox, files) for files in planned]
    return ids, len(waiting) - sum(len(f) for f in planned)


@dg.sensor(
    job_name="documents_job",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Cuts crawled pages (item files in inbox/web) into batches of the documents chain while the "
    "crawl runs (PIPELINE_MODE=streaming) or once it has ended (batch).",
)
def web_items_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    from pipeline_project.defs.documents.jobs import chain_run_request
    from pipeline_project.defs.documents.partitions import ocr_batches

    ids, still = cut_web_batches(context.instance, storage)
    if not ids:
        return dg.SkipReason(f"{still} crawled pages waiting; no batch due yet" if still else "no crawled pages waiting")
    return dg.SensorResult(
        run_requests=[chain_run_request(b, source_type="web") for b in ids],
        dynamic_partitions_requests=[ocr_batches.build_add_request(ids)],
    )


graph_sink_automation = dg.AutomationConditionSensorDefinition(
    "graph_sink_automation",
    target=dg.AssetSelection.assets("graph_sink"),
    default_status=dg.DefaultSensorStatus.RUNNING if graph_configured() else dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=15,
    description="Writes each newly embedded batch to the graph (when USE_NEO4J / PIPELINE_NEO4J_URI is set).",
)
