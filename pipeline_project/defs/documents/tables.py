"""The documents domain's DuckDB tables, and the one write pattern they all use.

Every table carries batch_id. A batch's rows are replaced in one transaction (delete the batch's
rows, insert the new ones), so re-materializing a partition gives exactly one copy and a killed
run leaves the previous copy intact. Primary keys make a document or chunk that somehow arrives in
two batches impossible to store twice.
"""

from __future__ import annotations

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS pdf_intake (
    batch_id VARCHAR NOT NULL,
    slot VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    doc_id VARCHAR,
    status VARCHAR NOT NULL,   -- accepted | duplicate | quarantined | missing
    reason VARCHAR,
    pages INTEGER,
    bytes BIGINT,
    stored_path VARCHAR,
    recorded_at TIMESTAMP,
    PRIMARY KEY (batch_id, slot)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    batch_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    source_file VARCHAR,
    stage VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMP,
    PRIMARY KEY (batch_id, doc_id, stage)
);
CREATE TABLE IF NOT EXISTS documents (
    doc_id VARCHAR PRIMARY KEY,
    batch_id VARCHAR NOT NULL,
    source_file VARCHAR,
    olmocr_id VARCHAR,
    pages INTEGER,
    chars BIGINT,
    ocr_source VARCHAR,
    json_path VARCHAR,
    ingested_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id VARCHAR NOT NULL,
    page INTEGER NOT NULL,
    batch_id VARCHAR NOT NULL,
    method VARCHAR NOT NULL,   -- text_layer | ocr | empty (the explicit empty-page marker)
    text VARCHAR NOT NULL,
    PRIMARY KEY (doc_id, page)
);
-- no primary key on purpose: the no_duplicate_chunk_ids check is what guards it
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id VARCHAR NOT NULL,
    doc_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    chunk_index INTEGER NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    n_tokens INTEGER,
    text VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    chunk_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    embedding FLOAT[] NOT NULL,
    PRIMARY KEY (chunk_id, model)
);
"""


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SCHEMA)


def replace_batch_rows(conn: duckdb.DuckDBPyConnection, table: str, batch_id: str, frame: pd.DataFrame,
                       keyed: bool = True) -> int:
    """Delete `batch_id`'s rows of `table` and insert `frame`'s, in one transaction.

    Rows whose key another batch already holds are skipped (that batch owns them)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
        inserted = 0
        if len(frame):
            conn.register("incoming_rows", frame)
            cols = ", ".join(frame.columns)
            before = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            verb = "INSERT OR IGNORE" if keyed else "INSERT"
            conn.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM incoming_rows")
            inserted = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before
            conn.unregister("incoming_rows")
        conn.execute("COMMIT")
        return inserted
    except Exception:
        conn.execute("ROLLBACK")
        raise
