"""The live progress line of a crawl, and the same counts for asset metadata and `status`:

    Progress: Files=25, Docs=25, Chunks=245, Embeddings=245, Errors=0

Files: pages the crawl run saved (item files). Docs: those pages whose saved version is in the
documents table. Chunks and Embeddings: chunks of those documents, and their vectors for the
configured model. Errors: the crawl's errors (HTTP errors, loops, size cap, unreachable hosts,
unreadable pages) plus saved pages a later stage gave up on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from pipeline_project.defs.web.crawl_log import ERROR, RunView
from pipeline_project.defs.web.tables import ensure_web_schema, table_exists
from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect


@dataclass
class Progress:
    files: int = 0
    docs: int = 0
    chunks: int = 0
    embeddings: int = 0
    errors: int = 0

    @property
    def line(self) -> str:
        return (f"Progress: Files={self.files}, Docs={self.docs}, Chunks={self.chunks}, "
                f"Embeddings={self.embeddings}, Errors={self.errors}")

    def as_dict(self) -> dict:
        return asdict(self)


def progress(warehouse, run: RunView, model: str) -> Progress:
    saved = pd.DataFrame([(e["doc_id"], e["content_hash"], e["final_url"]) for e in run.saved()],
                         columns=["doc_id", "content_hash", "final_url"]).drop_duplicates("doc_id")
    result = Progress(files=len(saved), errors=sum(1 for e in run.events if e["event"] == ERROR))
    if not len(saved):
        return result
    with connect(warehouse) as conn:
        ensure_web_schema(conn)
        ledger.ensure_ledger(conn)
        conn.register("run_saved", saved)
        try:
            result.errors += conn.execute(
                f"""SELECT count(*) FROM {ledger.TABLE} l JOIN run_saved s ON l.item_id = s.final_url
                    WHERE l.domain = 'web' AND l.stage = 'intake' AND l.state = '{ledger.DEAD_LETTER}'""").fetchone()[0]
            if not table_exists(conn, "documents") or not table_exists(conn, "embeddings"):
                return result
            docs, chunks, vectors = conn.execute(
                """WITH current AS (
                       SELECT w.doc_id, w.batch_id FROM web_pages w JOIN run_saved s
                         ON s.doc_id = w.doc_id AND s.content_hash = w.content_hash
                       JOIN documents d ON d.doc_id = w.doc_id AND d.batch_id = w.batch_id),
                   run_chunks AS (
                       SELECT c.chunk_id FROM chunks c JOIN current USING (doc_id) WHERE c.batch_id = current.batch_id)
                   SELECT (SELECT count(*) FROM current), (SELECT count(*) FROM run_chunks),
                          (SELECT count(*) FROM embeddings e JOIN run_chunks USING (chunk_id) WHERE e.model = ?)""",
                [model]).fetchone()
        finally:
            conn.unregister("run_saved")
    result.docs, result.chunks, result.embeddings = docs, chunks, vectors
    return result
