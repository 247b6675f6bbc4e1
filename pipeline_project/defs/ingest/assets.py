"""The downloader asset: one partition = one slice of the identifier list, fetched into the inbox."""


import json

import dagster as dg

from pipeline_project.defs.ingest.downloader import SliceDownloader, SliceReport
from pipeline_project.defs.ingest.partitions import download_slices
from pipeline_project.defs.ingest.resources import DownloaderResource
from pipeline_project.defs.ingest import checks
from pipeline_project.lib.checks import dead_letters_result

DOMAIN = "ingest"


def report_metadata(report: SliceReport, items: int, disk_used: float) -> dict:
    rate = report.bytes / report.seconds if report.seconds > 0 else 0.0
    fetched = report.downloaded + report.adopted
    return {
        "items": items,
        "downloaded": report.downloaded,
        "already_done": report.already_done,
        "adopted_from_inbox": report.adopted,
        "failed_permanent": report.failed_permanent,
        "failed_transient": report.failed_transient,
        "not_started_paused": report.not_started,
        "complete": report.complete,
        "bytes": dg.MetadataValue.int(report.bytes),
        "resumed_bytes": report.resumed_bytes,
        "seconds": round(report.seconds, 2),
        "rate_mb_per_s": round(rate / 1e6, 3),
        "items_per_s": round(fetched / report.seconds, 2) if report.seconds > 0 else 0.0,
        "paused_reason": report.paused_reason or "",
        "disk_used_fraction": round(disk_used, 4),
        "failures": dg.MetadataValue.json(dict(list(report.failures.items())[:50])),
    }


@dg.asset(
    partitions_def=download_slices,
    group_name=DOMAIN,
    kinds={"python"},
    check_specs=[checks.DEAD_LETTERS_SPEC],
    description=(
        "Downloads one slice of the identifier list into the documents inbox (resumable, retried, "
        "verified, atomic). Items already in the ledger are skipped, so re-running a slice only "
        "fetches what is missing; a slice paused by disk backpressure reports complete=False."
    ),
)
def downloaded_pdfs(context: dg.AssetExecutionContext, downloader: DownloaderResource) -> dg.MaterializeResult:
    key = context.partition_key
    items = downloader.slices().get(key, [])
    if not items:
        context.log.warning(f"{key} has no in-scope items (list shrank, or start_from/max_items moved)")

    def pause_reason() -> str:
        disk = downloader.disk()
        return disk.reason() if disk.over_watermark else ""

    runner = SliceDownloader(
        inbox=downloader.inbox(),
        ledger=downloader.ledger(),
        settings=downloader.fetch_settings(),
        workers=downloader.workers,
        should_pause=pause_reason,
        log=context.log.info,
    )
    report = runner.run(key, items)
    meta = report_metadata(report, len(items), downloader.disk().used_fraction)
    context.log.info(f"{key}: {json.dumps({k: v for k, v in meta.items() if isinstance(v, (int, float, str))})}")
    if report.paused_reason:
        context.log.warning(f"{key} paused, {report.not_started} items left for a later run: "
                            f"{report.paused_reason}")
    return dg.MaterializeResult(
        metadata=meta,
        check_results=[dead_letters_result(downloader.warehouse, DOMAIN, key)],
    )

