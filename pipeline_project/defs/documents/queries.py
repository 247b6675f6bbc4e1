"""Read-side queries for the CLI: search (hybrid, vector or lexical) and per-stage status."""

from __future__ import annotations

from dagster_duckdb import DuckDBResource

from pipeline_project.defs.documents.tables import ensure_schema
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.warehouse import connect


def search(warehouse: DuckDBResource, embedder: EmbedderResource, query: str, k: int = 5,
           mode: str = "hybrid") -> list[dict]:
    """Top-k chunks for `query`: hybrid (BM25 + vectors, fused), vector or lexical (search/engine.py)."""
    from pipeline_project.defs.documents.search import engine

    return engine.search(lambda: connect(warehouse), embedder.embed, embedder.model, query,
                         k=k, mode=mode)


def stage_counts(warehouse: DuckDBResource) -> dict:
    with connect(warehouse) as conn:
        ensure_schema(conn)
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        intake = dict(conn.execute("SELECT status, count(*) FROM pdf_intake GROUP BY status").fetchall())
        methods = dict(conn.execute("SELECT method, count(*) FROM pages GROUP BY method").fetchall())
        models = dict(conn.execute("SELECT model, count(*) FROM embeddings GROUP BY model").fetchall())
        return {
            "batches": one("SELECT count(DISTINCT batch_id) FROM pdf_intake"),
            "files": sum(intake.values()),
            "accepted": intake.get("accepted", 0),
            "duplicates": intake.get("duplicate", 0),
            "quarantined": intake.get("quarantined", 0),
            "documents": one("SELECT count(*) FROM documents"),
            "pages": sum(methods.values()),
            "pages_by_method": methods,
            "chunks": one("SELECT count(*) FROM chunks"),
            "embeddings_by_model": models,
            "dead_letters": one("SELECT count(*) FROM dead_letters"),
        }


def batches(warehouse: DuckDBResource) -> list[dict]:
    """Per OCR batch (oldest first): files by intake status, documents and chunks in the warehouse."""
    with connect(warehouse) as conn:
        ensure_schema(conn)
        rows = conn.execute(
            """SELECT i.batch_id, count(*) AS files,
                      count(*) FILTER (WHERE i.status = 'accepted') AS accepted,
                      count(*) FILTER (WHERE i.status = 'quarantined') AS quarantined,
                      (SELECT count(*) FROM documents d WHERE d.batch_id = i.batch_id) AS documents,
                      (SELECT count(*) FROM chunks c WHERE c.batch_id = i.batch_id) AS chunks
               FROM pdf_intake i GROUP BY i.batch_id ORDER BY i.batch_id""").fetchall()
    keys = ["batch_id", "files", "accepted", "quarantined", "documents", "chunks"]
    return [dict(zip(keys, r)) for r in rows]
