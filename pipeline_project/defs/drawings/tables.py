"""The drawings tables in the warehouse (DuckDB). Every write is an upsert on the natural key, so a
re-run after a crash writes the same rows again, never twice.

drawing_comparisons  one row per comparison (= dynamic partition): files, status, reason
drawing_pages        one row per comparison page: which old/new page, sheet names, how matched
drawing_diffs        one row per diffed page: overlay, boxes, change_count, registration
drawing_summaries    one row per summarised page: headline and text
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb

DDL = """
CREATE TABLE IF NOT EXISTS drawing_comparisons (
    job_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    old_sha256 VARCHAR, new_sha256 VARCHAR,
    old_file VARCHAR, new_file VARCHAR,          -- the pipeline's copies (drawings/<job>/input/)
    old_label VARCHAR, new_label VARCHAR,        -- what the user called them
    old_source VARCHAR, new_source VARCHAR,      -- the user's own paths (CLI), kept for quarantine copies
    source VARCHAR,                              -- inbox | cli | api
    owner VARCHAR,                               -- pipeline | user: who owns the originals
    status VARCHAR NOT NULL,                     -- pending | in_progress | completed | failed
    error VARCHAR,
    old_pages INTEGER, new_pages INTEGER, total_pages INTEGER,
    submitted_at TIMESTAMP, started_at TIMESTAMP, finished_at TIMESTAMP
);
-- streaming (default) | stage_by_stage: only the benchmark asks for the latter
ALTER TABLE drawing_comparisons ADD COLUMN IF NOT EXISTS page_order VARCHAR;
-- set while the web server or the CLI launches the run itself through the Dagster UI (the sensor
-- leaves the comparison alone meanwhile); the run it launched
ALTER TABLE drawing_comparisons ADD COLUMN IF NOT EXISTS launched_at TIMESTAMP;
ALTER TABLE drawing_comparisons ADD COLUMN IF NOT EXISTS launched_run_id VARCHAR;
CREATE TABLE IF NOT EXISTS drawing_pages (
    job_id VARCHAR NOT NULL,
    page_number INTEGER NOT NULL,                -- 1-based position in the comparison
    old_page INTEGER, new_page INTEGER,          -- 1-based page in each file; NULL when absent
    change_type VARCHAR,                         -- compared | added | removed
    match_method VARCHAR, similarity DOUBLE,
    drawing_name VARCHAR, old_sheet VARCHAR, new_sheet VARCHAR, sheet_source VARCHAR,
    PRIMARY KEY (job_id, page_number)
);
CREATE TABLE IF NOT EXISTS drawing_diffs (
    diff_result_id VARCHAR PRIMARY KEY,
    job_id VARCHAR NOT NULL, page_number INTEGER NOT NULL, drawing_name VARCHAR,
    overlay_path VARCHAR, changes_detected BOOLEAN, change_count INTEGER,
    boxes VARCHAR,                               -- JSON [{box, added_px, removed_px, location}]
    registration VARCHAR,                        -- JSON
    width INTEGER, height INTEGER, dpi INTEGER, tolerance_px INTEGER,
    created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS drawing_summaries (
    summary_id VARCHAR PRIMARY KEY,
    job_id VARCHAR NOT NULL, page_number INTEGER NOT NULL,
    headline VARCHAR, summary_text VARCHAR, summarizer VARCHAR, facts VARCHAR,
    created_at TIMESTAMP
);
"""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


_ENSURED: set[str] = set()


def ensure(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def ensure_tables(warehouse) -> None:
    """Create the tables once per process and database (callers' entry points do this; the
    functions below assume the tables exist, so a write or a progress poll costs no DDL)."""
    from pipeline_project.lib.warehouse import connect

    if warehouse.database in _ENSURED:
        return
    with connect(warehouse) as conn:
        ensure(conn)
    _ENSURED.add(warehouse.database)


def _upsert(conn: duckdb.DuckDBPyConnection, table: str, keys: list[str], row: dict[str, Any]) -> None:
    cols = list(row)
    values = [json.dumps(v, default=str) if isinstance(v, (dict, list)) else v for v in row.values()]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
    conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                 f"ON CONFLICT ({', '.join(keys)}) DO {'UPDATE SET ' + updates if updates else 'NOTHING'}", values)


def upsert_comparison(conn, row: dict[str, Any]) -> None:
    _upsert(conn, "drawing_comparisons", ["job_id"], row)


def upsert_page(conn, row: dict[str, Any]) -> None:
    _upsert(conn, "drawing_pages", ["job_id", "page_number"], row)


def upsert_diff(conn, row: dict[str, Any]) -> None:
    _upsert(conn, "drawing_diffs", ["diff_result_id"], row)


def upsert_summary(conn, row: dict[str, Any]) -> None:
    _upsert(conn, "drawing_summaries", ["summary_id"], row)


def set_status(conn, job_id: str, status: str, error: str | None = None, **extra: Any) -> None:
    stamp_col = {"in_progress": "started_at", "completed": "finished_at", "failed": "finished_at"}.get(status)
    sets = ["status = ?", "error = ?"] + [f"{k} = ?" for k in extra]
    params: list[Any] = [status, error] + list(extra.values())
    if stamp_col:
        sets.append(f"{stamp_col} = ?")
        params.append(now())
    conn.execute(f"UPDATE drawing_comparisons SET {', '.join(sets)} WHERE job_id = ?", params + [job_id])


def set_launched_run(conn, job_id: str, run_id: str | None) -> None:
    """The run a direct launch queued; None: the launch failed (launched_at is cleared for the sensor)."""
    if run_id is None:
        conn.execute("UPDATE drawing_comparisons SET launched_at = NULL WHERE job_id = ?", [job_id])
    else:
        conn.execute("UPDATE drawing_comparisons SET launched_run_id = ? WHERE job_id = ?", [run_id, job_id])


def set_page_counts(conn, job_id: str, old_pages: int, new_pages: int, total_pages: int) -> None:
    conn.execute("UPDATE drawing_comparisons SET old_pages = ?, new_pages = ?, total_pages = ? WHERE job_id = ?",
                 [old_pages, new_pages, total_pages, job_id])


def _dicts(cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def comparison(conn, job_id: str) -> dict[str, Any] | None:
    rows = _dicts(conn.execute("SELECT * FROM drawing_comparisons WHERE job_id = ?", [job_id]))
    return rows[0] if rows else None


def comparisons(conn, statuses: list[str] | None = None) -> list[dict[str, Any]]:
    if statuses:
        return _dicts(conn.execute("SELECT * FROM drawing_comparisons WHERE status IN (SELECT unnest(?)) "
                                   "ORDER BY submitted_at", [statuses]))
    return _dicts(conn.execute("SELECT * FROM drawing_comparisons ORDER BY submitted_at"))


def pages(conn, job_id: str) -> list[dict[str, Any]]:
    return _dicts(conn.execute("SELECT * FROM drawing_pages WHERE job_id = ? ORDER BY page_number", [job_id]))


def diffs(conn, job_id: str) -> dict[int, dict[str, Any]]:
    rows = _dicts(conn.execute("SELECT * FROM drawing_diffs WHERE job_id = ?", [job_id]))
    return {r["page_number"]: r for r in rows}


def summaries(conn, job_id: str) -> dict[int, dict[str, Any]]:
    rows = _dicts(conn.execute("SELECT * FROM drawing_summaries WHERE job_id = ?", [job_id]))
    return {r["page_number"]: r for r in rows}


def diff_by_id(conn, diff_result_id: str) -> dict[str, Any] | None:
    rows = _dicts(conn.execute("SELECT * FROM drawing_diffs WHERE diff_result_id = ?", [diff_result_id]))
    return rows[0] if rows else None
