"""Helpers for documents tests: build a batch and read the warehouse back."""

from __future__ import annotations

import time
from pathlib import Path

from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.documents.sensors import cut_batches
from pipeline_project.defs.documents.batching import BatchPolicy
from pipeline_project.lib.warehouse import warehouse_from_path
from pipeline_project_tests.conftest import age


def claim_inbox(instance, storage) -> str:
    age(p for p in storage.inbox.rglob("*") if p.is_file())
    ids, _, _ = cut_batches(instance, storage, None, BatchPolicy(min_pages=10_000), force=True)
    instance.add_dynamic_partitions(ocr_batches.name, ids)
    (batch_id,) = ids
    return batch_id


def table(storage, sql: str):
    """Rows of a query, waiting while a run (or the daemon's sensors) holds the warehouse."""
    with warehouse_from_path(str(storage.warehouse_path)).get_connection(read_only=True) as conn:
        return conn.execute(sql).fetchall()


def snapshot(storage) -> dict:
    """Every table's content without batch ids or timestamps (which differ between runs)."""
    return {
        "documents": table(storage, "SELECT doc_id, source_file, pages, chars FROM documents ORDER BY doc_id"),
        "pages": table(storage, "SELECT doc_id, page, method, text FROM pages ORDER BY doc_id, page"),
        "chunks": table(storage, "SELECT chunk_id, doc_id, chunk_index, page_start, page_end, text FROM chunks ORDER BY chunk_id"),
        "embeddings": table(storage, "SELECT chunk_id, model, list_sum(embedding)::DECIMAL(10,3) FROM embeddings ORDER BY chunk_id"),
        "intake": table(storage, "SELECT source_file, status, reason FROM pdf_intake ORDER BY source_file"),
        # the item ledger without batch ids in item ids, attempts or timestamps
        "ledger": table(storage, """SELECT domain, stage, state, label, last_error, quarantine_path IS NOT NULL
                                    FROM item_ledger ORDER BY ALL"""),
    }


def wait_for(predicate, timeout: float, interval: float = 1.0, what: str = "condition", log: Path | None = None):
    """Poll until predicate() is truthy. On a timeout the error names `what` and, when `log` is given,
    ends with that log's tail: CI shows only the assertion, not the files the test left behind."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = ""
    if log is not None and Path(log).exists():
        tail = "\n--- last lines of " + str(log) + " ---\n" + "\n".join(
            Path(log).read_text(errors="replace").splitlines()[-60:])
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")
