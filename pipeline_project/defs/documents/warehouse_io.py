"""Reading and writing the documents domain's warehouse tables for one batch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from pipeline_project.lib.atomic import write_json_atomic
from pipeline_project.defs.documents.chunking import chunk_document
from pipeline_project.defs.documents.olmocr_format import clean_text, doc_id_of, pages_from_record
from pipeline_project.defs.documents.tables import ensure_schema, replace_batch_rows, replace_rows
from pipeline_project.lib import ledger
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import connect

DOMAIN = "documents"
INTAKE_COLUMNS = ["batch_id", "slot", "source_file", "doc_id", "status", "reason", "pages", "bytes",
                  "stored_path", "recorded_at"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def accepted_elsewhere(warehouse: DuckDBResource, doc_ids: list[str], batch_id: str) -> dict[str, str]:
    """doc ids another batch accepted (and did not dead-letter) → that batch's id."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute(
            """SELECT i.doc_id, min(i.batch_id) FROM pdf_intake i
               WHERE i.status = 'accepted' AND i.batch_id <> ? AND i.doc_id IN (SELECT unnest(?))
                 AND NOT EXISTS (SELECT 1 FROM dead_letters d
                                 WHERE d.doc_id = i.doc_id AND d.batch_id = i.batch_id)
               GROUP BY i.doc_id""",
            [batch_id, doc_ids],
        ).fetchall()
    return dict(rows)


def intake_item_id(batch_id: str, slot: str) -> str:
    """An inbox file's ledger id: its batch and slot (stable across re-runs; names may repeat)."""
    return f"{batch_id}/{slot}"


def _intake_entry(batch_id: str, record: dict) -> ledger.Entry:
    status = record["status"]
    state = ledger.DONE if status in ("accepted", "duplicate") else ledger.DEAD_LETTER
    return ledger.Entry(
        DOMAIN, intake_item_id(batch_id, record["slot"]), "intake", state, batch_id,
        error=None if state == ledger.DONE else (record.get("reason") or None),
        label=record["source_file"],
        quarantine_path=record.get("stored_path") if status == "quarantined" else None,
        detail={"status": status, "doc_id": record.get("doc_id"), "pages": record.get("pages"),
                "bytes": record.get("bytes")},
        attempts_delta=1)


def save_intake(warehouse: DuckDBResource, batch_id: str, records: list[dict]) -> None:
    """The batch's pdf_intake rows and each inbox file's ledger row, in one transaction."""
    # file names with undecodable bytes are stored as shown (U+FFFD), not raw: Arrow strings are UTF-8
    rows = [{k: clean_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in records]
    frame = pd.DataFrame(rows, columns=[c for c in INTAKE_COLUMNS if c != "batch_id"])
    frame.insert(0, "batch_id", batch_id)
    # ISO8601, not a format guessed from the first row: isoformat() leaves out the microseconds when they
    # are 0, and such a record (kept on disk for re-runs) would otherwise fail its batch on every retry
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True, format="ISO8601").dt.tz_localize(None)
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        replace_rows(conn, "pdf_intake", batch_id, frame)
        ledger.upsert(conn, [_intake_entry(batch_id, r) for r in rows])
        conn.execute("COMMIT")


def save_ocr_outcomes(warehouse: DuckDBResource, batch_id: str, done: list[str], failures: dict[str, str],
                      names: dict[str, str]) -> None:
    """Each document's OCR outcome in the ledger: done, or a dead letter with the engine's reason (the
    engines retry inside; what they give up on needs a person or `pipeline-project retry`)."""
    entries = [ledger.Entry(DOMAIN, d, "ocr", ledger.DONE, batch_id, label=names.get(d), attempts_delta=1)
               for d in done]
    entries += [ledger.Entry(DOMAIN, d, "ocr", ledger.DEAD_LETTER, batch_id, error=r, label=names.get(d),
                             attempts_delta=1) for d, r in failures.items()]
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        ledger.upsert(conn, entries)
        conn.execute("COMMIT")


def split_documents(storage: StorageResource, batch_id: str, records: list[dict]):
    """One JSON per document (the split of the batch JSONL) plus the rows for documents and pages."""
    docs, pages = [], []
    for record in records:
        doc_id = doc_id_of(record)
        path = storage.documents_json / doc_id[:2] / f"{doc_id}.json"
        write_json_atomic(path, record)
        page_list = pages_from_record(record)
        docs.append({
            "doc_id": doc_id, "batch_id": batch_id,
            "source_file": record["metadata"].get("Source-File"), "olmocr_id": record["id"],
            "pages": len(page_list), "chars": len(record["text"]), "ocr_source": record.get("source"),
            "json_path": str(path), "ingested_at": _now(),
        })
        pages.extend({"doc_id": doc_id, "page": p.page, "batch_id": batch_id, "method": p.method,
                      "text": p.text} for p in page_list)
    doc_cols = ["doc_id", "batch_id", "source_file", "olmocr_id", "pages", "chars", "ocr_source", "json_path",
                "ingested_at"]
    return pd.DataFrame(docs, columns=doc_cols), pd.DataFrame(pages, columns=["doc_id", "page", "batch_id", "method", "text"])


def save_documents(warehouse: DuckDBResource, batch_id: str, docs: pd.DataFrame, pages: pd.DataFrame) -> None:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        replace_batch_rows(conn, "documents", batch_id, docs)
        replace_batch_rows(conn, "pages", batch_id, pages)


def verify_ingest(warehouse: DuckDBResource, docs: pd.DataFrame, pages: pd.DataFrame) -> None:
    """Every document of the JSONL is in the warehouse with all its pages, or the step fails
    (and nothing gets deleted)."""
    if not len(docs):
        return
    expected = pages.groupby("doc_id").size().to_dict()
    with connect(warehouse) as conn:
        found = dict(conn.execute(
            "SELECT doc_id, count(*) FROM pages WHERE doc_id IN (SELECT unnest(?)) GROUP BY doc_id",
            [docs["doc_id"].tolist()],
        ).fetchall())
    wrong = [d for d in docs["doc_id"] if found.get(d, 0) != expected.get(d, 0)]
    if wrong:
        raise dg.Failure(f"ingest verification failed for {len(wrong)} documents, e.g. {wrong[:3]}; nothing deleted")


def delete_sources(storage: StorageResource, warehouse: DuckDBResource, batch_id: str) -> int:
    """Delete the stored PDFs of this batch's verified documents. Returns bytes freed."""
    with connect(warehouse) as conn:
        paths = [r[0] for r in conn.execute(
            """SELECT i.stored_path FROM pdf_intake i JOIN documents d ON d.doc_id = i.doc_id
               WHERE i.batch_id = ? AND i.status = 'accepted'""", [batch_id]).fetchall()]
    freed = 0
    for raw in paths:
        path = Path(raw)
        if path.exists():
            freed += path.stat().st_size
            path.unlink()
    return freed


def chunk_batch(warehouse: DuckDBResource, batch_id: str, records: list[dict], tokenizer,
                chunk_tokens: int, overlap_tokens: int) -> pd.DataFrame:
    with connect(warehouse) as conn:
        owned = {r[0] for r in conn.execute("SELECT doc_id FROM documents WHERE batch_id = ?", [batch_id]).fetchall()}
    rows = []
    for record in records:
        doc_id = doc_id_of(record)
        if doc_id not in owned:
            continue
        spans = (record.get("attributes") or {}).get("pdf_page_numbers") or []
        for c in chunk_document(doc_id, record["text"], spans, tokenizer,
                                chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens):
            rows.append((c.chunk_id, c.doc_id, batch_id, c.chunk_index, c.page_start, c.page_end, c.n_tokens, c.text))
    return pd.DataFrame(rows, columns=["chunk_id", "doc_id", "batch_id", "chunk_index", "page_start", "page_end",
                                       "n_tokens", "text"])


def save_chunks(warehouse: DuckDBResource, batch_id: str, frame: pd.DataFrame) -> None:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        replace_batch_rows(conn, "chunks", batch_id, frame, keyed=False)


def chunks_to_embed(warehouse: DuckDBResource, batch_id: str, model: str) -> tuple[pd.DataFrame, int]:
    """The batch's chunks with no vector for `model` yet, and how many already have one."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        frame = conn.execute(
            """SELECT c.chunk_id, c.text, e.chunk_id IS NOT NULL AS done FROM chunks c
               LEFT JOIN embeddings e ON e.chunk_id = c.chunk_id AND e.model = ?
               WHERE c.batch_id = ? ORDER BY c.doc_id, c.chunk_index""", [model, batch_id]).df()
    return frame[~frame["done"]].reset_index(drop=True), int(frame["done"].sum())


def save_embeddings(warehouse: DuckDBResource, batch_id: str, model: str, chunk_ids: list[str], vectors) -> None:
    """Insert new vectors and drop this batch's vectors for chunks that no longer exist."""
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(chunk_ids), -1) if chunk_ids else np.zeros((0, 1), np.float32)
    dim = matrix.shape[1]
    table = pa.table({
        "chunk_id": pa.array(chunk_ids, pa.string()),
        "model": pa.array([model] * len(chunk_ids), pa.string()),
        "batch_id": pa.array([batch_id] * len(chunk_ids), pa.string()),
        "embedding": pa.ListArray.from_arrays(pa.array(np.arange(0, matrix.size + 1, dim, dtype=np.int32)),
                                              pa.array(matrix.ravel())),
    })
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        conn.execute(
            """DELETE FROM embeddings WHERE batch_id = ? AND model = ?
               AND chunk_id NOT IN (SELECT chunk_id FROM chunks WHERE batch_id = ?)""", [batch_id, model, batch_id])
        conn.register("new_vectors", table)
        conn.execute("INSERT OR IGNORE INTO embeddings SELECT * FROM new_vectors")
        conn.unregister("new_vectors")
        docs = conn.execute("SELECT doc_id, any_value(source_file) FROM documents WHERE batch_id = ? GROUP BY doc_id",
                            [batch_id]).fetchall()
        ledger.upsert(conn, [ledger.Entry(DOMAIN, d, "embeddings", ledger.DONE, batch_id, label=name,
                                          detail={"model": model}) for d, name in docs])
        conn.execute("COMMIT")
