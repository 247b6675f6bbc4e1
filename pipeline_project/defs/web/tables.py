"""The web domain's warehouse table: the current version of every crawled page.

    web_pages   one row per page (document id = hash of its final URL): URL, title, content hash,
                out-links, which crawl fetched it when, and which batch holds its current version

The documents stages keep the text, chunks and embeddings (source type `web`, the URL as the
document's source file); this table adds what only a web page has, so the graph sink can draw links
between pages and a re-crawl can tell an unchanged page from a changed one.
"""

from __future__ import annotations

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_pages (
    doc_id VARCHAR PRIMARY KEY,
    url VARCHAR NOT NULL,           -- as requested (a link or a start URL)
    final_url VARCHAR NOT NULL,     -- after redirects: the page's identity
    title VARCHAR,
    crawl VARCHAR,
    run_id VARCHAR,
    fetched_at VARCHAR NOT NULL,    -- ISO 8601, UTC
    content_hash VARCHAR NOT NULL,
    out_links VARCHAR[],
    batch_id VARCHAR NOT NULL,      -- the batch holding the current version
    item_path VARCHAR               -- the stored item file of the current version
);
"""

COLUMNS = ["doc_id", "url", "final_url", "title", "crawl", "run_id", "fetched_at", "content_hash",
           "out_links", "batch_id", "item_path"]


def ensure_web_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SCHEMA)


def table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                            "AND table_schema = current_schema()", [name]).fetchone()[0])


def upsert_pages(conn: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Insert or replace page rows; a row never replaces one fetched later (an old batch re-run
    must not bring back an old version)."""
    if not rows:
        return
    frame = pd.DataFrame(rows, columns=COLUMNS)
    conn.register("web_incoming", frame)
    try:
        conn.execute(f"""
            INSERT INTO web_pages ({", ".join(COLUMNS)}) SELECT {", ".join(COLUMNS)} FROM web_incoming
            ON CONFLICT (doc_id) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])}
            WHERE excluded.fetched_at >= web_pages.fetched_at""")
    finally:
        conn.unregister("web_incoming")


def current_versions(conn: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> dict[str, dict]:
    """doc id → {content_hash, fetched_at, batch_id, processed} for pages already known."""
    ensure_web_schema(conn)
    has_docs = table_exists(conn, "documents")
    processed = ("EXISTS (SELECT 1 FROM documents d WHERE d.doc_id = w.doc_id AND d.batch_id = w.batch_id)"
                 if has_docs else "false")
    rows = conn.execute(
        f"""SELECT doc_id, content_hash, fetched_at, batch_id, {processed} FROM web_pages w
            WHERE doc_id IN (SELECT unnest(?))""", [doc_ids]).fetchall()
    return {r[0]: {"content_hash": r[1], "fetched_at": r[2], "batch_id": r[3], "processed": bool(r[4])} for r in rows}
