"""The comparison's stages as assets on one `drawing_comparisons` partition:

    drawing_pages → drawing_sheet_names → drawing_page_matches → drawing_diffs → drawing_summaries

One multi-asset computes them together because they stream: its op walks the pages and commits each
page through every stage as soon as it is done (walker.py), instead of finishing a stage for all
pages before the next starts — the first overlay is visible while later pages are still rendering.
Each stage is still its own asset with its own metadata, and every page's state per stage is in the
item ledger. Sheet names and matching are computed for the whole set first (matching needs them
all; they are the cheap part). Re-materialising a partition skips pages already done.
"""


import dagster as dg

from pipeline_project.defs.drawings.checks import SUMMARIES_KEY, dead_letters_check
from pipeline_project.defs.drawings.partitions import drawing_comparisons
from pipeline_project.defs.drawings.resources import DrawingSummarizer
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource

GROUP = "drawings"
PAGES, SHEETS, MATCHES, DIFFS = (dg.AssetKey(k) for k in (
    "drawing_pages", "drawing_sheet_names", "drawing_page_matches", "drawing_diffs"))


class ComparisonConfig(dg.Config):
    # "" = the comparison's own (streaming unless submitted with ?order=stage_by_stage, or
    # $DRAWINGS_PAGE_ORDER); "stage_by_stage" (every page extracted, then every page diffed, then
    # summarised) only to measure what streaming buys (benchmarks/drawings_bench.py).
    order: str = ""


def _spec(key: dg.AssetKey, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(key, description=description, group_name=GROUP, deps=deps, partitions_def=drawing_comparisons,
                        kinds={"pdf", "png"} if key in (PAGES, DIFFS) else {"duckdb"})


def _specs() -> list[dg.AssetSpec]:
    """(A function: specs at module level would be collected as definitions of their own.)"""
    return [
        _spec(PAGES, "Every page of both revisions as PNG (PAGE_EXTRACTION_DPI, default 220): "
              "drawings/<job>/pages/{old,new}/page_NNN.png.", []),
        _spec(SHEETS, "The sheet id of each page (text layer; Tesseract on the title block when there is none).", [PAGES]),
        _spec(MATCHES, "New pages matched to old ones by sheet id, then order and look; added/removed sheets.", [SHEETS]),
        _spec(DIFFS, "Per page: the new page registered onto the old one and differenced; overlay PNG, change "
              "boxes, change_count (table drawing_diffs).", [MATCHES]),
        _spec(SUMMARIES_KEY, "Per page: what changed, in words (table drawing_summaries).", [DIFFS]),
    ]


def _metadata(report, stage: str) -> dict:
    base = {"pages": report.total_pages, "status": report.status, "dead_letters": report.dead_letters,
            "quarantined": report.quarantined}
    if report.error:
        base["reason"] = report.error
    if stage == "diffs":
        base.update({"changed_pages": report.changed_pages, "changes": report.changes})
    if stage == "pages":
        base.update({"pages_skipped_already_done": report.skipped})
    return base


@dg.multi_asset(specs=_specs(), partitions_def=drawing_comparisons, can_subset=False,
                check_specs=[dead_letters_check()],
                description="Compares two revisions of a drawing set page by page, streaming each page through "
                "every stage.")
def drawing_comparison(context: dg.AssetExecutionContext, config: ComparisonConfig, storage: StorageResource,
                       warehouse: WarehouseResource, drawing_summarizer: DrawingSummarizer):
    from pipeline_project.defs.drawings.submissions import DOMAIN
    from pipeline_project.defs.drawings.walker import Walker
    from pipeline_project.lib.checks import dead_letters_result

    job_id = context.partition_key
    report = Walker(storage.root_path, warehouse, job_id, drawing_summarizer, order=config.order or None,
                    log=context.log.info).run()
    if report.status == "failed":
        context.log.warning(f"comparison {job_id} failed: {report.error}")
    for key, stage in ((PAGES, "pages"), (SHEETS, "sheets"), (MATCHES, "matches"), (DIFFS, "diffs"),
                       (SUMMARIES_KEY, "summaries")):
        yield dg.MaterializeResult(asset_key=key, metadata=_metadata(report, stage))
    yield dead_letters_result(warehouse, DOMAIN, job_id, asset_key=SUMMARIES_KEY)
