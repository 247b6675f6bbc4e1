"""The web domain's jobs: one crawl (a `web_crawls` partition), and the graph sink for one batch."""

import dagster as dg

from pipeline_project.defs.web.partitions import web_crawls

web_crawl_job = dg.define_asset_job(
    "web_crawl_job",
    selection=dg.AssetSelection.assets("web_crawl"),
    partitions_def=web_crawls,
    executor_def=dg.in_process_executor,
    description="Crawl one site (Scrapy in its own process); its pages stream into the documents chain "
    "through web_items_sensor while it runs.",
)

graph_sink_job = dg.define_asset_job(
    "graph_sink_job",
    selection=dg.AssetSelection.assets("graph_sink"),
    executor_def=dg.in_process_executor,
    description="Write one batch's documents, chunks and links to the graph (Bolt).",
)


def rerun_target(partition_key: str) -> tuple[str, str]:
    """What `pipeline-project retry` runs: a crawl again (its ledger rows are keyed by crawl name), or
    the documents chain for a batch of crawled pages."""
    from pipeline_project.defs.web.batching import is_web_batch_id

    if is_web_batch_id(partition_key):
        return "documents_job", partition_key
    return web_crawl_job.name, partition_key
