"""web_crawl (one partition per crawl) and graph_sink (one partition per documents batch).

web_crawl runs Scrapy in its own process; while it runs, web_items_sensor cuts the saved pages into
batches of the documents chain (documents → chunks → embeddings, source type `web`). When the crawl
has ended it records every URL's outcome in the item ledger, waits (PIPELINE_WEB_SETTLE_SECONDS,
default 600) until every saved page is embedded, and reports the progress counts.

graph_sink follows embeddings for every batch (PDFs and web pages): documents, chunks with their
vectors, links between pages and citations, over Bolt. Switched off unless USE_NEO4J=true or
PIPELINE_NEO4J_URI is set; off, it records that it skipped and never fails the documents chain.
"""


import time

import dagster as dg

from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.web import checks
from pipeline_project.defs.web.config import ConfigError, load_config, pipeline_mode, storage_mode
from pipeline_project.defs.web.graph_settings import graph_configured
from pipeline_project.defs.web.partitions import web_crawls
from pipeline_project.defs.web.resources import GraphSinkResource
from pipeline_project.lib.checks import dead_letters_result
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.settings import env_float
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource

GROUP = "web"


def crawl_config_path(storage: StorageResource, name: str):
    return storage.root_path / "web" / "crawls" / name / "config.yaml"


def _wait_for_crawl(context, process, storage, warehouse, model: str):
    from pipeline_project.defs.web.crawl_log import read_run
    from pipeline_project.defs.web.progress import progress

    last = 0.0
    while process.running():
        time.sleep(0.5)
        if time.monotonic() - last > 15:
            last = time.monotonic()
            context.log.info(progress(warehouse, read_run(process.run_dir), model).line)
    process.wait()
    return read_run(process.run_dir)


def _wait_until_embedded(context, storage, run) -> None:
    """Wait (PIPELINE_WEB_SETTLE_SECONDS, default 600) until the daemon has embedded every saved page;
    give up after a minute without progress (no daemon, or web_items_sensor stopped)."""
    from pipeline_project.defs.web.settle import items_waiting, settled
    from pipeline_project.lib.runs import in_flight

    deadline = time.monotonic() + env_float("PIPELINE_WEB_SETTLE_SECONDS", 600.0)
    last, last_change = None, time.monotonic()
    while not settled(context.instance, storage.inbox, run) and time.monotonic() < deadline:
        state = (items_waiting(storage.inbox, run), len(in_flight(context.instance, "documents_job")))
        if state != last:
            last, last_change = state, time.monotonic()
        elif state[1] == 0 and time.monotonic() - last_change > env_float("PIPELINE_WEB_SETTLE_IDLE_SECONDS", 60.0):
            context.log.warning(f"{state[0]} saved pages still wait in inbox/web and nothing processes them: is the "
                                "daemon running with web_items_sensor on? Reporting the counts as they are.")
            return
        time.sleep(2.0)


@dg.asset(
    partitions_def=web_crawls,
    group_name=GROUP,
    kinds={"scrapy", "duckdb"},
    check_specs=[checks.CRAWL_DEAD_LETTERS_SPEC],
    description="One crawl of a site (config: $PIPELINE_DATA_DIR/web/crawls/<name>/config.yaml, added by "
    "`pipeline-project crawl add`). Writes one item file per saved page into inbox/web as it is fetched; "
    "linked PDFs go to the PDF inbox; every URL's outcome lands in the item ledger.",
)
def web_crawl(context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource,
              embedder: EmbedderResource):
    from pipeline_project.defs.web.batching import items_dir
    from pipeline_project.defs.web.crawl_ledger import record_crawl
    from pipeline_project.defs.web.crawl_log import read_run
    from pipeline_project.defs.web.crawl_process import start_crawl
    from pipeline_project.defs.web.progress import progress

    started = time.monotonic()
    name = context.partition_key
    try:
        storage_mode()
        config = load_config(crawl_config_path(storage, name))
    except ConfigError as exc:
        raise dg.Failure(f"crawl {name!r}: {exc}") from None
    process = start_crawl(config, storage.root_path, items_dir(storage.inbox), storage.inbox / "web-pdfs" / name)
    context.log.info(f"crawling {', '.join(config.start_urls)} (pid {process.pid}, up to {config.page_limit} pages)")
    run = _wait_for_crawl(context, process, storage, warehouse, embedder.model)
    counts = record_crawl(warehouse, run)
    crawl_seconds = time.monotonic() - started
    _wait_until_embedded(context, storage, run)
    now = progress(warehouse, run, embedder.model)
    context.log.info(now.line)
    return dg.MaterializeResult(
        metadata={
            "progress": now.line, **{k: v for k, v in now.as_dict().items()},
            "pages_saved": counts["saved"], "crawl_errors": counts["error"], "skipped": counts["skipped"],
            "duplicates": counts["duplicate"], "pdfs_to_inbox": counts["pdf"],
            "finish_reason": run.state.get("finish_reason") or "", "mode": pipeline_mode(),
            "crawl_seconds": round(crawl_seconds, 2), "seconds": round(time.monotonic() - started, 2),
            "run_dir": dg.MetadataValue.path(str(run.run_dir)),
        },
        check_results=[dead_letters_result(warehouse, "web", name, stages=["crawl"])],
    )


CITATIONS = dg.AssetKey("with_metadata")  # the bibliography domain's enriched references
# After embeddings, and again whenever the batch's citations are enriched; a batch whose citations
# are missing or still being enriched (services can make it wait) is written without them meanwhile.
GRAPH_AUTOMATION = dg.AutomationCondition.eager().replace(
    "any_deps_missing", dg.AutomationCondition.any_deps_missing().ignore(dg.AssetSelection.assets(CITATIONS))
).replace(
    "any_deps_in_progress", dg.AutomationCondition.any_deps_in_progress().ignore(dg.AssetSelection.assets(CITATIONS)))


@dg.asset(
    partitions_def=ocr_batches,
    group_name=GROUP,
    deps=[dg.AssetKey("embeddings"), CITATIONS],
    automation_condition=GRAPH_AUTOMATION if graph_configured() else None,
    kinds={"neo4j"},
    check_specs=[checks.GRAPH_SPEC],
    description="The batch's documents (PDFs and web pages), chunks with embeddings, links between crawled "
    "pages and citations, written to a Neo4j-compatible server over Bolt in batched `UNWIND $rows` "
    "transactions keyed by unique ids (new chunks CREATEd, known ones MERGEd); re-running creates no "
    "duplicates. Off unless USE_NEO4J=true or PIPELINE_NEO4J_URI is set.",
)
def graph_sink(context: dg.AssetExecutionContext, graph: GraphSinkResource, warehouse: WarehouseResource,
               embedder: EmbedderResource):
    if not graph.enabled:
        context.log.info("graph sink is off (set USE_NEO4J=true or PIPELINE_NEO4J_URI to write the graph)")
        return dg.MaterializeResult(metadata={"graph_sink": "off"},
                                    check_results=[checks.graph_result(0, 0, 0, skipped=True)])
    from pipeline_project.defs.web.graph_rows import write_batch

    with graph.writer() as writer:
        rows, report = write_batch(writer, warehouse, context.partition_key, embedder.model)
    for note in rows.notes:
        context.log.info(note)
    without_vector = sum(1 for c in rows.chunks if not c["embedding"])
    return dg.MaterializeResult(
        metadata={"graph_sink": graph.settings().describe(), **report.as_metadata(),
                  "web_documents": sum(1 for d in rows.documents if d["source_type"] == "web"),
                  "pdf_documents": sum(1 for d in rows.documents if d["source_type"] == "pdf")},
        check_results=[checks.graph_result(report.chunks, len(rows.chunks), without_vector, skipped=False)],
    )
