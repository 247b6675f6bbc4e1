"""Reading the documents domain's page texts and writing the bibliography's tables with their ledger rows.

Connections stay short (compute first, then open, write, close): DuckDB lets one process write at
a time and the documents runs write the same file. Each write replaces or upserts its rows and the
matching item-ledger rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from dagster_duckdb import DuckDBResource

from pipeline_project.defs.bibliography.tables import TABLES, ensure_schema
from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect

DOMAIN = "bibliography"
LISTS, EXTRACT, ENRICH, DOWNLOAD = "lists", "extract", "enrich", "download"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _has_table(conn, name: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def batch_documents(warehouse: DuckDBResource, batch_id: str) -> list[tuple[str, str, list[tuple[int, str]]]]:
    """(doc_id, source file, [(page, text)]) for every document the documents domain stored for this batch."""
    with connect(warehouse, read_only=False) as conn:
        ensure_schema(conn)
        if not _has_table(conn, "pages"):
            return []
        rows = conn.execute(
            """SELECT p.doc_id, coalesce(d.source_file, p.doc_id), p.page, p.text
               FROM pages p LEFT JOIN documents d USING (doc_id)
               WHERE p.batch_id = ? ORDER BY p.doc_id, p.page""", [batch_id]).fetchall()
    docs: dict[str, tuple[str, list]] = {}
    for doc_id, source, page, text in rows:
        docs.setdefault(doc_id, (source, []))[1].append((page, text))
    return [(doc_id, source, pages) for doc_id, (source, pages) in docs.items()]


def depths(warehouse: DuckDBResource, doc_ids: list[str]) -> dict[str, int]:
    """Citation depth of each document: that of the download it came from, 0 if you added it."""
    if not doc_ids:
        return {}
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute("SELECT sha256, min(depth) FROM downloaded_references WHERE sha256 IN "
                            "(SELECT unnest(?)) GROUP BY sha256", [doc_ids]).fetchall()
    found = dict(rows)
    return {d: int(found.get(d, 0)) for d in doc_ids}


def _insert(conn, table: str, frame: pd.DataFrame, replace: bool = False) -> None:
    if not len(frame):
        return
    conn.register("incoming_bib_rows", frame)
    try:
        cols = ", ".join(frame.columns)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        conn.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM incoming_bib_rows")
    finally:
        conn.unregister("incoming_bib_rows")


def save_extraction(warehouse: DuckDBResource, batch_id: str, documents: pd.DataFrame, lists: pd.DataFrame,
                    references: pd.DataFrame, entries: list[ledger.Entry]) -> None:
    """Replace the batch's extraction rows; drop enrichments of references that no longer exist."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            for table in ("bib_documents", "bib_lists", "no_metadata"):
                conn.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
            _insert(conn, "bib_documents", documents)
            _insert(conn, "bib_lists", lists)
            _insert(conn, "no_metadata", references)
            conn.execute("DELETE FROM with_metadata WHERE batch_id = ? AND ref_id NOT IN "
                         "(SELECT ref_id FROM no_metadata WHERE batch_id = ?)", [batch_id, batch_id])
            ledger.upsert(conn, entries)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


def references_to_enrich(warehouse: DuckDBResource, batch_id: str) -> pd.DataFrame:
    """The batch's references whose enrichment is not done (new, waiting, failed, or re-queued)."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        ledger.ensure_ledger(conn)
        return conn.execute(
            f"""SELECT n.* FROM no_metadata n
                LEFT JOIN {ledger.TABLE} l ON l.domain = ? AND l.stage = ? AND l.item_id = n.ref_id
                WHERE n.batch_id = ? AND (l.state IS NULL OR l.state IN (?, ?, ?))
                ORDER BY n.doc_id, n.ordinal""",
            [DOMAIN, ENRICH, batch_id, ledger.PENDING, ledger.FAILED, ledger.IN_PROGRESS]).df()


def save_enrichment(warehouse: DuckDBResource, rows: pd.DataFrame, entries: list[ledger.Entry]) -> None:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            _insert(conn, "with_metadata", rows, replace=True)
            ledger.upsert(conn, entries)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


def matched_with_pdf(warehouse: DuckDBResource, batch_id: str) -> pd.DataFrame:
    """Matched references of the batch with an open-access PDF link, with their citing document's depth."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        return conn.execute(
            """SELECT w.ref_id, w.doi, w.openalex_id, w.pdf_url, w.title, coalesce(b.depth, 0) AS citing_depth
               FROM with_metadata w LEFT JOIN bib_documents b USING (doc_id)
               WHERE w.batch_id = ? AND w.status = 'matched' AND w.pdf_url IS NOT NULL
               ORDER BY w.ref_id""", [batch_id]).df()


def corpus_dois(warehouse: DuckDBResource) -> set[str]:
    """DOIs already in the corpus: documents printing their own DOI, and works fetched before."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute("SELECT lower(own_doi) FROM bib_documents WHERE own_doi IS NOT NULL UNION "
                            "SELECT lower(doi) FROM downloaded_references WHERE doi IS NOT NULL").fetchall()
    return {r[0] for r in rows}


def fetched_keys(warehouse: DuckDBResource, keys: list[str]) -> set[str]:
    """Works already fetched (whatever became of the file)."""
    if not keys:
        return set()
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute("SELECT work_key FROM downloaded_references WHERE work_key IN (SELECT unnest(?))",
                            [keys]).fetchall()
    return {r[0] for r in rows}


def queued_elsewhere(warehouse: DuckDBResource, keys: list[str], batch_id: str) -> dict[str, str]:
    """work_key → batch that queued it first (another batch's references asked for it already)."""
    if not keys:
        return {}
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute("SELECT work_key, batch_id FROM to_download_references WHERE work_key IN "
                            "(SELECT unnest(?)) AND batch_id <> ?", [keys, batch_id]).fetchall()
    return dict(rows)


def save_queue(warehouse: DuckDBResource, batch_id: str, rows: pd.DataFrame, entries: list[ledger.Entry]) -> None:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute("DELETE FROM to_download_references WHERE batch_id = ?", [batch_id])
            _insert(conn, "to_download_references", rows)
            ledger.upsert(conn, entries)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


def queued_downloads(warehouse: DuckDBResource, batch_id: str) -> pd.DataFrame:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        return conn.execute(
            """SELECT q.* FROM to_download_references q
               WHERE q.batch_id = ? AND q.decision = 'queued'
                 AND q.work_key NOT IN (SELECT work_key FROM downloaded_references)
               ORDER BY q.work_key""", [batch_id]).df()


def known_content(warehouse: DuckDBResource, sha256: str) -> bool:
    """True when a document with this content is already in the corpus (or on its way in)."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        if conn.execute("SELECT count(*) FROM downloaded_references WHERE sha256 = ?", [sha256]).fetchone()[0]:
            return True
        for table in ("documents", "pdf_intake"):
            if _has_table(conn, table) and conn.execute(
                    f"SELECT count(*) FROM {table} WHERE doc_id = ?", [sha256]).fetchone()[0]:
                return True
    return False


def save_download(warehouse: DuckDBResource, row: dict, entries: list[ledger.Entry]) -> None:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            _insert(conn, "downloaded_references", pd.DataFrame([row]), replace=True)
            ledger.upsert(conn, entries)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


def table_counts(warehouse: DuckDBResource) -> dict[str, int]:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def as_json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)
