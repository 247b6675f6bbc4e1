"""The graph sink's writer: documents, chunks, links and citations into a Neo4j-compatible server.

    (:Document {id, url | source_file, title, source_type})-[:HAS_CHUNK]->(:Chunk {id, text, page, embedding})
    (:Document)-[:LINKS_TO]->(:Document)        links between crawled pages that were both saved
    (:Document)-[:CITES]->(:Work {doi, title})  from the bibliography domain, when it has run

Every write is `UNWIND $rows AS row MERGE ...` in transactions of `batch_rows` rows, keyed by ids
under unique constraints, so writing the same partition again changes nothing and creates no
duplicates. Only Cypher that both Neo4j 5 and ArcadeDB accept is used here; the vector index DDL,
where they differ, is behind vector_index.py. The official neo4j driver is imported on first use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from pipeline_project.defs.web.graph_settings import GraphSettings
from pipeline_project.defs.web.vector_index import VectorIndex, choose_vector_index

CONSTRAINTS = (
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT chunk_id IF NOT EXISTS FOR (c:Chunk) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT work_doi IF NOT EXISTS FOR (w:Work) REQUIRE w.doi IS UNIQUE",
)

MERGE_DOCUMENTS = """
UNWIND $rows AS row
MERGE (d:Document {id: row.id})
SET d.source_type = row.source_type, d.title = row.title, d.url = row.url, d.source_file = row.source_file
"""

# A chunk id is a hash of its document and text, so its vector only changes with the model: writing
# the vector (and so updating the vector index, the costly part) only then makes re-runs cheap.
MERGE_CHUNKS = """
UNWIND $rows AS row
MERGE (c:Chunk {id: row.id})
SET c.text = row.text, c.page = row.page, c.chunk_index = row.chunk_index
FOREACH (_ IN CASE WHEN coalesce(c.model, '') <> row.model THEN [1] ELSE [] END |
    SET c.embedding = row.embedding, c.model = row.model)
WITH c, row
MATCH (d:Document {id: row.doc_id})
MERGE (d)-[:HAS_CHUNK]->(c)
"""

# a changed page keeps its document id but may lose chunks: they go, with their relationships
PRUNE_CHUNKS = """
UNWIND $rows AS row
MATCH (d:Document {id: row.doc_id})-[:HAS_CHUNK]->(c:Chunk)
WHERE NOT c.id IN row.keep
DETACH DELETE c
"""

MERGE_LINKS = """
UNWIND $rows AS row
MATCH (a:Document {id: row.source})
MATCH (b:Document {id: row.target})
MERGE (a)-[:LINKS_TO]->(b)
"""

PRUNE_LINKS = """
UNWIND $rows AS row
MATCH (a:Document {id: row.source})-[r:LINKS_TO]->(b:Document)
WHERE NOT b.id IN row.keep
DELETE r
"""

MERGE_CITATIONS = """
UNWIND $rows AS row
MERGE (w:Work {doi: row.doi})
SET w.title = coalesce(row.title, w.title)
WITH w, row
MATCH (d:Document {id: row.doc_id})
MERGE (d)-[:CITES]->(w)
"""


@dataclass
class WriteReport:
    documents: int = 0
    chunks: int = 0
    links: int = 0
    citations: int = 0
    pruned_chunks: int = 0
    transactions: int = 0
    seconds: float = 0.0
    chunk_seconds: float = 0.0
    vector_index: str = "none"
    notes: list[str] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return round(self.chunks / self.chunk_seconds, 1) if self.chunk_seconds and self.chunks else 0.0

    def as_metadata(self) -> dict:
        return {"documents": self.documents, "chunks": self.chunks, "links_to": self.links,
                "cites": self.citations, "chunks_pruned": self.pruned_chunks, "transactions": self.transactions,
                "seconds": round(self.seconds, 2), "chunks_per_second": self.chunks_per_second,
                "vector_index": self.vector_index}


MAX_MESSAGE_BYTES = 8 * 2**20  # ArcadeDB refuses Bolt messages over 16 MB (arcadedb.bolt.maxMessageSize)


def _row_bytes(row: dict) -> int:
    """About what a row costs on the wire (a float is 9 bytes in PackStream)."""
    size = 64
    for value in row.values():
        if isinstance(value, str):
            size += len(value.encode("utf-8", "replace")) + 5
        elif isinstance(value, (list, tuple)):
            size += 9 * len(value) + 5
        else:
            size += 9
    return size


def batches(rows: list, size: int, max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[list]:
    """Runs of at most `size` rows and about `max_bytes` (long texts and vectors make big rows)."""
    current, current_bytes = [], 0
    for row in rows:
        row_bytes = _row_bytes(row)
        if current and (len(current) >= size or current_bytes + row_bytes > max_bytes):
            yield current
            current, current_bytes = [], 0
        current.append(row)
        current_bytes += row_bytes
    if current:
        yield current


class GraphWriter:
    """One driver per writer; use as a context manager (closes the driver)."""

    def __init__(self, settings: GraphSettings):
        self.settings = settings
        self._driver = None
        self._vector_index: VectorIndex | None = None

    @property
    def driver(self):
        if self._driver is None:
            from neo4j import GraphDatabase

            self._driver = GraphDatabase.driver(self.settings.uri, auth=(self.settings.user, self.settings.password))
        return self._driver

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def __enter__(self) -> "GraphWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------------
    def server_agent(self) -> str:
        return self.driver.get_server_info().agent or ""

    def vector_index(self) -> VectorIndex:
        if self._vector_index is None:
            self._vector_index = choose_vector_index(self.settings, self.server_agent())
        return self._vector_index

    def ensure_schema(self, dimensions: int | None = None) -> str:
        """Unique constraints (they also index the MERGE keys) and, given the embedding size, the
        vector index. Idempotent. Returns which vector index kind was used."""
        for statement in CONSTRAINTS:
            self.driver.execute_query(statement, database_=self.settings.database)
        index = self.vector_index()
        if dimensions:
            index.ensure(self.driver, self.settings.database, dimensions)
        return index.name

    # -- writes ----------------------------------------------------------------------------------
    def _write(self, statement: str, rows: list[dict], report: WriteReport) -> None:
        if not rows:
            return
        with self.driver.session(database=self.settings.database) as session:
            for chunk in batches(rows, self.settings.batch_rows):
                session.execute_write(lambda tx, part=chunk: tx.run(statement, rows=part).consume())
                report.transactions += 1

    def write(self, documents: list[dict], chunks: list[dict], links: list[dict] | None = None,
              citations: list[dict] | None = None, link_sources: Iterable[str] = (),
              prune: bool = True) -> WriteReport:
        """Write one partition's rows. `chunks` rows: id, doc_id, text, page, chunk_index, embedding, model.
        With `prune`, chunks of these documents that are not in `chunks` are deleted, and LINKS_TO
        from `link_sources` that are not in `links` are deleted (a page that changed)."""
        report = WriteReport()
        started = time.monotonic()
        dimensions = next((len(c["embedding"]) for c in chunks if c.get("embedding")), None)
        report.vector_index = self.ensure_schema(dimensions)
        self._write(MERGE_DOCUMENTS, documents, report)
        report.documents = len(documents)
        t0 = time.monotonic()
        self._write(MERGE_CHUNKS, chunks, report)
        report.chunk_seconds = time.monotonic() - t0
        report.chunks = len(chunks)
        if prune and documents:
            keep: dict[str, list[str]] = {d["id"]: [] for d in documents}
            for c in chunks:
                keep.setdefault(c["doc_id"], []).append(c["id"])
            before = self.count("MATCH (c:Chunk) RETURN count(c) AS n")
            self._write(PRUNE_CHUNKS, [{"doc_id": d, "keep": ids} for d, ids in keep.items()], report)
            report.pruned_chunks = before - self.count("MATCH (c:Chunk) RETURN count(c) AS n")
        links = links or []
        sources = set(link_sources)
        if prune and sources:
            targets: dict[str, list[str]] = {s: [] for s in sources}
            for link in links:
                if link["source"] in targets:
                    targets[link["source"]].append(link["target"])
            self._write(PRUNE_LINKS, [{"source": s, "keep": t} for s, t in targets.items()], report)
        self._write(MERGE_LINKS, links, report)
        report.links = len(links)
        self._write(MERGE_CITATIONS, citations or [], report)
        report.citations = len(citations or [])
        report.seconds = time.monotonic() - started
        return report

    # -- reads -----------------------------------------------------------------------------------
    def count(self, query: str, **params) -> int:
        records = self.driver.execute_query(query, params, database_=self.settings.database).records
        return int(records[0]["n"]) if records else 0

    def stats(self) -> dict:
        """Node counts by label and relationship counts by type."""
        db = self.settings.database
        nodes: dict[str, int] = {}
        for record in self.driver.execute_query("MATCH (n) RETURN labels(n) AS labels, count(*) AS n", database_=db).records:
            for label in record["labels"] or ["(no label)"]:
                nodes[label] = nodes.get(label, 0) + int(record["n"])
        rels = {r["type"]: int(r["n"]) for r in self.driver.execute_query(
            "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n", database_=db).records}
        return {"server": self.settings.describe(), "nodes": dict(sorted(nodes.items())),
                "relationships": dict(sorted(rels.items()))}

    def similar_chunks(self, vector: list[float], k: int = 5) -> list[dict]:
        """Top-k chunks by the vector index (its score scale is (1 + cosine) / 2), with their document."""
        index = self.vector_index()
        if not index.query_name:
            raise RuntimeError("the graph has no vector index (PIPELINE_NEO4J_VECTOR_INDEX=none)")
        records = self.driver.execute_query(
            "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score "
            "MATCH (d:Document)-[:HAS_CHUNK]->(node) "
            "RETURN node.id AS chunk_id, d.id AS doc_id, d.url AS url, d.source_file AS source_file, score "
            "ORDER BY score DESC",
            {"index": index.query_name, "k": k, "vector": list(map(float, vector))},
            database_=self.settings.database).records
        return [r.data() for r in records]

    def clear(self) -> None:
        """Delete every node and relationship (tests and `graph reset`)."""
        self.driver.execute_query("MATCH (n) DETACH DELETE n", database_=self.settings.database)
