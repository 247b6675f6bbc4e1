"""The lexical (BM25) index: a batch's rows replaced whenever the batch is chunked."""

from __future__ import annotations

import duckdb

from pipeline_project.defs.documents.search import sql


def ensure_search_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(sql.SCHEMA)


def index_rows(conn: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    """Replace `batch_id`'s index rows from its chunks, inside the caller's transaction."""
    for statement in sql.DELETE_BATCH + sql.INDEX_BATCH:
        conn.execute(statement, {"batch": batch_id})


def index_batch(conn: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    """Index one batch in its own transaction (a killed run leaves the previous rows)."""
    ensure_search_schema(conn)
    conn.execute("BEGIN TRANSACTION")
    try:
        index_rows(conn, batch_id)
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise


def catch_up(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Index every batch that has chunks but no index rows yet; returns those batches."""
    ensure_search_schema(conn)
    missing = [r[0] for r in conn.execute(sql.UNINDEXED_BATCHES).fetchall()]
    for batch_id in missing:
        index_batch(conn, batch_id)
    return missing
