"""The documents domain's DuckDB tables, and the one write pattern they all use.

Every table carries batch_id. A batch's rows are replaced in one transaction (delete the batch's
rows, insert the new ones), so re-materializing a partition gives exactly one copy and a killed
run leaves the previous copy intact. Primary keys make a document or chunk that somehow arrives in
two batches impossible to store twice. Per-item state (intake, OCR, embedding of each file and
document) is in the item ledger; the view dead_letters reads it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipeline_project.lib import ledger

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


# Documents the OCR stage could not read, as users have always queried them; the rows live in the
# item ledger (domain 'documents', stage 'ocr'), the one place every domain's failures are kept.
DEAD_LETTERS_VIEW = f"""
CREATE OR REPLACE VIEW dead_letters AS
SELECT partition_key AS batch_id, item_id AS doc_id, label AS source_file, stage, last_error AS reason,
       updated_at AS recorded_at
FROM {ledger.TABLE} WHERE domain = 'documents' AND stage = 'ocr' AND state = '{ledger.DEAD_LETTER}'
"""


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SCHEMA)
    ledger.ensure_ledger(conn)
    _migrate_dead_letters_table(conn)
    conn.execute(DEAD_LETTERS_VIEW)


def _migrate_dead_letters_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Warehouses written before the item ledger kept dead letters in a table of their own."""
    kind = conn.execute("SELECT table_type FROM information_schema.tables "
                        "WHERE table_name = 'dead_letters' AND table_schema = current_schema()").fetchone()
    if not kind or kind[0] != "BASE TABLE":
        return
    rows = conn.execute("SELECT batch_id, doc_id, source_file, stage, reason FROM dead_letters").fetchall()
    ledger.upsert(conn, [ledger.Entry("documents", d, stage, ledger.DEAD_LETTER, b, error=r, label=s)
                         for b, d, s, stage, r in rows])
    conn.execute("DROP TABLE dead_letters")


def replace_batch_rows(conn: duckdb.DuckDBPyConnection, table: str, batch_id: str, frame: pd.DataFrame,
                       keyed: bool = True) -> int:
    """Delete `batch_id`'s rows of `table` and insert `frame`'s, in one transaction.

    Rows whose key another batch already holds are skipped (that batch owns them)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        inserted = replace_rows(conn, table, batch_id, frame, keyed)
        conn.execute("COMMIT")
        return inserted
    except Exception:
        conn.execute("ROLLBACK")
        raise


def replace_rows(conn: duckdb.DuckDBPyConnection, table: str, batch_id: str, frame: pd.DataFrame,
                 keyed: bool = True) -> int:
    """replace_batch_rows inside the caller's transaction."""
    conn.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
    if not len(frame):
        return 0
    conn.register("incoming_rows", frame)
    try:
        cols = ", ".join(frame.columns)
        before = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        verb = "INSERT OR IGNORE" if keyed else "INSERT"
        conn.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM incoming_rows")
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before
    finally:
        conn.unregister("incoming_rows")
