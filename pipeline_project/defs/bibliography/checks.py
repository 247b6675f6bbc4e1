"""The bibliography's asset checks, answered inside each stage's run from the warehouse and the ledger.

    no_metadata            every document of the batch has an outcome (lists found / none / failed);
                           no_dead_letters
    with_metadata          no reference lost: each one is matched, unmatched or waiting (WARN while
                           some wait for a service); no_dead_letters
    downloaded_references  no_dead_letters (links that gave no PDF, downloads that kept failing)
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.bibliography import warehouse_io as io
from pipeline_project.defs.bibliography.tables import ensure_schema
from pipeline_project.lib.checks import dead_letters_result, dead_letters_spec
from pipeline_project.lib.warehouse import connect

NO_METADATA = dg.AssetKey("no_metadata")
WITH_METADATA = dg.AssetKey("with_metadata")
DOWNLOADED = dg.AssetKey("downloaded_references")
EVERY_DOCUMENT = "every_document_has_an_outcome"
NONE_LOST = "no_reference_lost"

DOCUMENT_SPECS = [
    dg.AssetCheckSpec(EVERY_DOCUMENT, asset=NO_METADATA,
                      description="Every document of the batch is recorded: lists found, no reference list, "
                      "no text, or extraction failed (with the error)."),
    dead_letters_spec(NO_METADATA, what="documents"),
]
REFERENCE_SPECS = [
    dg.AssetCheckSpec(NONE_LOST, asset=WITH_METADATA,
                      description="Every extracted reference of the batch has an enrichment outcome: matched, "
                      "unmatched (with the best candidate and why), or waiting for a service (retried later)."),
    dead_letters_spec(WITH_METADATA, what="references"),
]
DOWNLOAD_SPECS = [dead_letters_spec(DOWNLOADED, what="downloads")]


def documents_result(warehouse, batch_id: str, expected: int) -> dg.AssetCheckResult:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute("SELECT outcome, count(*) FROM bib_documents WHERE batch_id = ? GROUP BY outcome",
                            [batch_id]).fetchall()
    outcomes = dict(rows)
    return dg.AssetCheckResult(check_name=EVERY_DOCUMENT, asset_key=NO_METADATA,
                               passed=sum(outcomes.values()) == expected,
                               metadata={"documents": expected, **{k: int(v) for k, v in outcomes.items()}})


def references_result(warehouse, batch_id: str) -> dg.AssetCheckResult:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        total = conn.execute("SELECT count(*) FROM no_metadata WHERE batch_id = ?", [batch_id]).fetchone()[0]
        rows = conn.execute("SELECT w.status, count(*) FROM no_metadata n JOIN with_metadata w USING (ref_id) "
                            "WHERE n.batch_id = ? GROUP BY w.status", [batch_id]).fetchall()
    statuses = {k: int(v) for k, v in rows}
    accounted = sum(statuses.values())
    waiting = statuses.get("waiting", 0) + statuses.get("failed", 0)
    return dg.AssetCheckResult(
        check_name=NONE_LOST, asset_key=WITH_METADATA, passed=accounted == total and not waiting,
        severity=dg.AssetCheckSeverity.WARN if accounted == total else dg.AssetCheckSeverity.ERROR,
        metadata={"references": int(total), "without_outcome": int(total - accounted), **statuses})


def dead_letters(warehouse, batch_id: str, asset_key: dg.AssetKey, stages: list[str]) -> dg.AssetCheckResult:
    return dead_letters_result(warehouse, io.DOMAIN, batch_id, asset_key=asset_key, stages=stages)
