"""Asset checks of the documents domain, evaluated inside each asset's run for its batch, and the
partition budget (its own check, also evaluated in every documents_job run)."""

from __future__ import annotations

import warnings

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.lib.checks import dead_letters_spec
from pipeline_project.lib.warehouse import connect

QUARANTINE_SPEC = dg.AssetCheckSpec(
    "no_quarantined_files", asset="raw_pdfs",
    description="Warns when files of the batch were quarantined (unreadable, not a PDF, password-protected).")
PAGES_SPEC = dg.AssetCheckSpec(
    "every_page_has_text_or_empty_marker", asset="documents",
    description="Every page of every accepted, non-dead-lettered document is in the warehouse, with text "
    "or the explicit 'empty' method.")
CHUNK_IDS_SPEC = dg.AssetCheckSpec(
    "no_duplicate_chunk_ids", asset="chunks", description="No chunk id appears twice in the warehouse.")
DEAD_LETTERS_SPEC = dead_letters_spec("ocr_jsonl", "documents")
EMBEDDINGS_SPEC = dg.AssetCheckSpec(
    "one_embedding_per_chunk", asset="embeddings",
    description="Every chunk of the batch has exactly one vector for the configured model.")


def quarantine_result(quarantined: list[dict]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="no_quarantined_files",
        passed=not quarantined,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantined": len(quarantined),
            "files": dg.MetadataValue.md(
                "\n".join(f"- `{r['source_file']}`: {r['reason']}" for r in quarantined) or "none"),
        },
    )


def pages_result(warehouse: DuckDBResource, batch_id: str) -> dg.AssetCheckResult:
    with connect(warehouse) as conn:
        missing_pages = conn.execute(
            """SELECT i.source_file, i.pages, count(p.page) FROM pdf_intake i
               LEFT JOIN pages p ON p.doc_id = i.doc_id
               WHERE i.batch_id = ? AND i.status = 'accepted'
                 AND i.doc_id NOT IN (SELECT doc_id FROM dead_letters WHERE batch_id = ?)
               GROUP BY i.source_file, i.pages HAVING count(p.page) <> i.pages""", [batch_id, batch_id]).fetchall()
        blank = conn.execute(
            """SELECT count(*) FROM pages WHERE batch_id = ?
               AND method <> 'empty' AND length(trim(text)) = 0""", [batch_id]).fetchone()[0]
    return dg.AssetCheckResult(
        check_name="every_page_has_text_or_empty_marker",
        passed=not missing_pages and blank == 0,
        metadata={"documents_missing_pages": len(missing_pages), "blank_pages_without_marker": blank,
                  "examples": str(missing_pages[:5])},
    )


def chunk_ids_result(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with connect(warehouse) as conn:
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT chunk_id FROM chunks GROUP BY chunk_id HAVING count(*) > 1) AS dupes"
        ).fetchone()[0]
    return dg.AssetCheckResult(check_name="no_duplicate_chunk_ids", passed=dupes == 0,
                               metadata={"duplicated_chunk_ids": dupes})


def embeddings_result(warehouse: DuckDBResource, batch_id: str, model: str) -> dg.AssetCheckResult:
    with connect(warehouse) as conn:
        wrong = conn.execute(
            """SELECT count(*) FROM (SELECT c.chunk_id FROM chunks c
               LEFT JOIN embeddings e ON e.chunk_id = c.chunk_id AND e.model = ?
               WHERE c.batch_id = ? GROUP BY c.chunk_id HAVING count(e.chunk_id) <> 1) AS wrong""",
            [model, batch_id]).fetchone()[0]
    return dg.AssetCheckResult(check_name="one_embedding_per_chunk", passed=wrong == 0,
                               metadata={"chunks_without_exactly_one_vector": wrong, "model": model})


def partition_budget_result(used: int, budget: int, warn_fraction: float) -> dg.AssetCheckResult:
    """Partitions used vs the budget; a warning from `warn_fraction` of it on (the dispatcher is already
    cutting bigger batches by then, see dispatch_policy.budget_scale)."""
    from pipeline_project.defs.documents.dispatch_policy import budget_scale

    fill = used / budget if budget > 0 else 0.0
    return dg.AssetCheckResult(
        check_name="partition_budget",
        passed=fill < warn_fraction,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"partitions_used": used, "budget": budget, "used_percent": round(100 * fill, 1),
                  "warn_at_percent": round(100 * warn_fraction, 1),
                  "batch_size_factor": round(budget_scale(used, budget, warn_fraction), 2)},
        description=budget_message(used, budget, warn_fraction),
    )


def budget_message(used: int, budget: int, warn_fraction: float) -> str:
    fill = used / budget if budget > 0 else 0.0
    text = f"{used:,} of {budget:,} OCR batch partitions used ({100 * fill:.1f} %)"
    if fill >= warn_fraction:
        text += (f" — past the {100 * warn_fraction:.0f} % warning: batches now grow so the budget is not reached; "
                 "move the instance to Postgres (PIPELINE_PARTITION_BUDGET up to 100,000) or raise "
                 "PIPELINE_BATCH_MIN_PAGES")
    return text


def _partition_budget(context) -> dg.AssetCheckResult:  # (annotations are strings here; Dagster wants none)
    from pipeline_project.defs.documents.sensors import dispatch_settings

    settings = dispatch_settings(context.instance)
    used = len(context.instance.get_dynamic_partitions(ocr_batches.name))
    return partition_budget_result(used, settings.budget, settings.warn_fraction)


# Partitioned like raw_pdfs so every documents_job run reports it for its batch. A partitioned check is a
# "preview" feature in Dagster 1.13 (pinned), which says so on every load: silenced here only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)
    partition_budget = dg.asset_check(
        asset="raw_pdfs", name="partition_budget", partitions_def=ocr_batches,
        description="OCR batch partitions used vs PIPELINE_PARTITION_BUDGET (default: 30,000 on SQLite instance "
        "storage, which fails near 36,000 here; 100,000 on Postgres, Dagster's recommendation); warns from "
        "PIPELINE_PARTITION_BUDGET_WARN (50 %) on, when the dispatcher has already begun cutting bigger batches.",
    )(_partition_budget)
