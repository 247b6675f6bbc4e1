"""Asset checks of the documents domain, evaluated inside each asset's run for its batch."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

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
