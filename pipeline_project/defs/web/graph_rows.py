"""The rows one batch contributes to the graph, read from the warehouse, and `write_batch`, which
writes them (graph_sink and `graph sync`).

Documents: every document of the batch (PDFs and web pages alike) with its source type, URL or
source file, and title. Chunks: text, first page, position and the vector for the configured model.
Links: between saved web pages, in both directions for the batch's pages. They are read again once
the batch's documents are in the graph, so a link whose other end arrived meanwhile is drawn by
whichever of the two batches is written last, even when both are written at the same time.
Citations: from the bibliography domain's `with_metadata` table when it exists (rows with a DOI for
one of the batch's documents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pipeline_project.defs.web.tables import ensure_web_schema, table_exists
from pipeline_project.lib.warehouse import connect

CITATIONS_TABLE = "with_metadata"
_DOC_COLUMNS = ("doc_id", "document_id", "source_doc_id")
_TITLE_COLUMNS = ("title", "matched_title", "metadata_title")


@dataclass
class GraphRows:
    documents: list[dict] = field(default_factory=list)
    chunks: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    link_sources: list[str] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _documents(conn, batch_id: str) -> list[dict]:
    rows = conn.execute(
        """SELECT d.doc_id, d.source_file, d.ocr_source, w.title, w.final_url FROM documents d
           LEFT JOIN web_pages w ON w.doc_id = d.doc_id WHERE d.batch_id = ? ORDER BY d.doc_id""", [batch_id]).fetchall()
    out = []
    for doc_id, source_file, source, title, url in rows:
        web = source == "web" or url is not None
        out.append({"id": doc_id, "source_type": "web" if web else "pdf",
                    "url": url or (source_file if web else None),
                    "source_file": None if web else source_file,
                    "title": title or (PurePosixPath(source_file or "").stem if not web else "")})
    return out


def _chunks(conn, batch_id: str, model: str) -> list[dict]:
    table = conn.execute(
        """SELECT c.chunk_id AS id, c.doc_id, c.text, c.page_start AS page, c.chunk_index, e.embedding
           FROM chunks c LEFT JOIN embeddings e ON e.chunk_id = c.chunk_id AND e.model = ?
           WHERE c.batch_id = ? ORDER BY c.doc_id, c.chunk_index""", [model, batch_id]).fetch_arrow_table()
    rows = table.to_pylist()
    for row in rows:
        row["embedding"] = row["embedding"] or []
        row["model"] = model if row["embedding"] else ""
    return rows


def _links(conn, batch_id: str) -> tuple[list[dict], list[str]]:
    # every URL a current page answers to (its final URL and the URL that redirected to it)
    rows = conn.execute(
        """WITH addresses AS (
               SELECT final_url AS address, doc_id FROM web_pages
               UNION SELECT url AS address, doc_id FROM web_pages),
           edges AS (
               SELECT DISTINCT w.doc_id AS source, a.doc_id AS target, w.batch_id = ? AS from_batch
               FROM web_pages w, unnest(w.out_links) AS l(link) JOIN addresses a ON a.address = l.link
               WHERE a.doc_id <> w.doc_id)
           SELECT e.source, e.target, e.from_batch FROM edges e
           JOIN documents ds ON ds.doc_id = e.source JOIN documents dt ON dt.doc_id = e.target
           WHERE e.from_batch OR dt.batch_id = ?""", [batch_id, batch_id]).fetchall()
    sources = [r[0] for r in conn.execute("SELECT doc_id FROM web_pages WHERE batch_id = ?", [batch_id]).fetchall()]
    return [{"source": s, "target": t} for s, t, _ in rows], sources


def _citations(conn, doc_ids: list[str]) -> tuple[list[dict], str | None]:
    if not table_exists(conn, CITATIONS_TABLE):
        return [], f"no {CITATIONS_TABLE} table yet: no CITES relationships"
    columns = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [CITATIONS_TABLE]).fetchall()}
    doc_col = next((c for c in _DOC_COLUMNS if c in columns), None)
    if doc_col is None or "doi" not in columns:
        return [], f"{CITATIONS_TABLE} has no document id or doi column: no CITES relationships"
    title_col = next((c for c in _TITLE_COLUMNS if c in columns), None)
    matched = "AND status = 'matched'" if "status" in columns else ""  # not a guess the services rejected
    rows = conn.execute(
        f"""SELECT DISTINCT {doc_col}, lower(doi), {title_col or 'NULL'} FROM {CITATIONS_TABLE}
            WHERE doi IS NOT NULL AND doi <> '' {matched} AND {doc_col} IN (SELECT unnest(?))""", [doc_ids]).fetchall()
    return [{"doc_id": d, "doi": doi, "title": t} for d, doi, t in rows], None


def links_for_batch(warehouse, batch_id: str) -> tuple[list[dict], list[str]]:
    """The batch's link rows and the batch's pages (the links' sources), as the warehouse has them now."""
    with connect(warehouse) as conn:
        if not (table_exists(conn, "documents") and table_exists(conn, "web_pages")):
            return [], []
        return _links(conn, batch_id)


def write_batch(writer, warehouse, batch_id: str, model: str):
    """Write one batch to the graph; returns (its rows, the writer's report)."""
    rows = rows_for_batch(warehouse, batch_id, model)
    report = writer.write(rows.documents, rows.chunks, lambda: links_for_batch(warehouse, batch_id), rows.citations,
                          link_sources=rows.link_sources)
    return rows, report


def rows_for_batch(warehouse, batch_id: str, model: str) -> GraphRows:
    out = GraphRows()
    with connect(warehouse) as conn:
        ensure_web_schema(conn)
        if not table_exists(conn, "documents"):
            out.notes.append("no documents yet")
            return out
        out.documents = _documents(conn, batch_id)
        out.chunks = _chunks(conn, batch_id, model)
        out.links, out.link_sources = _links(conn, batch_id)
        out.citations, note = _citations(conn, [d["id"] for d in out.documents])
    if note:
        out.notes.append(note)
    missing = sum(1 for c in out.chunks if not c["embedding"])
    if missing:
        out.notes.append(f"{missing} chunks have no vector for {model} yet")
    return out
