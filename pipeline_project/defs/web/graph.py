"""The graph sink's writer: documents, chunks, links and citations into a Neo4j-compatible server.

    (:Document {id, url | source_file, title, source_type})-[:HAS_CHUNK]->(:Chunk {id, text, page, embedding})
    (:Document)-[:LINKS_TO]->(:Document)        links between crawled pages that were both saved
    (:Document)-[:CITES]->(:Work {doi, title})  from the bibliography domain, when it has run

Every write is `UNWIND $rows AS row ...` in transactions of `batch_rows` rows, keyed by ids under
unique constraints, so writing the same partition again changes nothing and creates no duplicates
(graph_cypher.py has the statements, all accepted by both Neo4j 5 and ArcadeDB; the vector index
DDL, where they differ, is behind vector_index.py). The official neo4j driver is imported on first use.

Links are drawn after the batch's documents are in the graph, from link rows read at that moment
(`links` may be a function that reads them), so of two batches written at the same time the later
one always finds the other's documents and draws the links between them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from pipeline_project.defs.web import graph_cypher as cypher
from pipeline_project.defs.web.graph_settings import GraphSettings
from pipeline_project.defs.web.vector_index import VectorIndex, choose_vector_index


LinkRows = list[dict]
LinkReader = Callable[[], "tuple[LinkRows, list[str]]"]


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


MERGE_ATTEMPTS = 5  # a transaction refused by a unique constraint another writer just satisfied
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


class _Rows(list):
    """The rows parameter of one transaction, with a short repr. The driver formats every RUN's
    parameters for its debug log even when that log is off (neo4j 6.4, `" ".join(map(repr, fields))`
    in Bolt5x0.run): for 1,000 chunks with 384-float vectors that repr took ~0.45 s, longer than the
    server's whole write. The packer sends a list subclass exactly as a list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


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
        for statement in cypher.CONSTRAINTS:
            self.driver.execute_query(statement, database_=self.settings.database)
        index = self.vector_index()
        if dimensions:
            index.ensure(self.driver, self.settings.database, dimensions)
        return index.name

    # -- writes ---------------------------------------------------------------------------------
    def _write(self, statement: str, rows: list, report: WriteReport, *, creates: bool = False) -> list:
        """Run `statement` over `rows` in transactions of at most batch_rows rows; returns its records.

        Two writers of the same batch at once (the sink and `graph sync`) can both MERGE a node the
        other has not committed yet; the unique constraint then refuses the second (ArcadeDB checks
        at commit, it takes no lock as Neo4j does). Run again, the MERGE finds the node, so it is
        retried; a CREATE (`creates`) is not: the caller looks the ids up again instead."""
        from neo4j.exceptions import ConstraintError

        records: list = []
        if not rows:
            return records
        with self.driver.session(database=self.settings.database) as session:
            for chunk in batches(rows, self.settings.batch_rows):
                for attempt in range(MERGE_ATTEMPTS):
                    try:
                        records += session.execute_write(lambda tx, part=_Rows(chunk): list(tx.run(statement, rows=part)))
                        break
                    except ConstraintError:
                        if creates or attempt == MERGE_ATTEMPTS - 1:
                            raise
                        time.sleep(0.05 * (attempt + 1))
                report.transactions += 1
        return records

    def _read(self, statement: str, values: list) -> list:
        records: list = []
        if not values:
            return records
        with self.driver.session(database=self.settings.database) as session:
            for start in range(0, len(values), 10_000):
                part = _Rows(values[start:start + 10_000])
                records += session.execute_read(lambda tx, part=part: list(tx.run(statement, rows=part)))
        return records

    def _write_chunks(self, chunks: list[dict], report: WriteReport) -> None:
        """CREATE the chunks one lookup shows to be new, MERGE the others (a re-run, a changed model).
        If another writer creates some of them meanwhile, CREATE fails on the unique constraint and
        the new rows are MERGEd instead (those written so far are then found, not created twice)."""
        from neo4j.exceptions import ConstraintError

        existing = {r["id"] for r in self._read(cypher.EXISTING_CHUNKS, [c["id"] for c in chunks])}
        new, known = [], []
        for chunk in chunks:
            (known if chunk["id"] in existing else new).append(chunk)
            existing.add(chunk["id"])  # a repeated row MERGEs after the first one is created
        try:
            self._write(cypher.CREATE_CHUNKS, [c for c in new if c["embedding"]], report, creates=True)
            self._write(cypher.CREATE_CHUNKS_WITHOUT_VECTOR, [c for c in new if not c["embedding"]], report,
                        creates=True)
        except ConstraintError:
            self._write(cypher.MERGE_CHUNKS, new, report)
        self._write(cypher.MERGE_CHUNKS, known, report)

    def _prune_chunks(self, documents: list[dict], chunks: list[dict], report: WriteReport) -> None:
        keep: dict[str, list[str]] = {d["id"]: [] for d in documents}
        for c in chunks:
            keep.setdefault(c["doc_id"], []).append(c["id"])
        records = self._write(cypher.PRUNE_CHUNKS, [{"doc_id": d, "keep": ids} for d, ids in keep.items()], report)
        report.pruned_chunks = sum(int(r["n"]) for r in records)

    def _write_links(self, links: LinkRows | LinkReader | None, link_sources: Iterable[str], prune: bool,
                     report: WriteReport) -> None:
        """Delete the stale LINKS_TO of the batch's pages, then MERGE its link rows. The graph's links
        are read before the link rows are (when `links` is a reader): a link another batch drew in
        between is then either not seen here or already among the rows, and is never deleted."""
        sources = list(dict.fromkeys(link_sources))
        current = {(r["source"], r["target"]) for r in self._read(cypher.CURRENT_LINKS, sources)} if prune else set()
        if callable(links):
            links, now_sources = links()
            sources = [s for s in sources if s in set(now_sources)]  # a page since moved on is another batch's
        links = links or []
        wanted = {(link["source"], link["target"]) for link in links}
        if prune:
            stale = [{"source": s, "target": t} for s, t in sorted(current - wanted) if s in set(sources)]
            self._write(cypher.DELETE_LINKS, stale, report)
        self._write(cypher.MERGE_LINKS, [{"source": s, "target": t} for s, t in sorted(wanted - current)], report)
        report.links = len(wanted)

    def write(self, documents: list[dict], chunks: list[dict], links: LinkRows | LinkReader | None = None,
              citations: list[dict] | None = None, link_sources: Iterable[str] = (),
              prune: bool = True) -> WriteReport:
        """Write one partition's rows. `chunks` rows: id, doc_id, text, page, chunk_index, embedding, model.
        `links`: {source, target} rows, or a function returning (rows, link sources) that is called once
        the documents are in the graph. With `prune`, chunks of these documents that are not in `chunks`
        are deleted, and LINKS_TO from `link_sources` that are not in `links` (a page that changed).
        The clock starts once the driver is loaded (importing it takes ~0.4 s once per process)."""
        self.driver  # noqa: B018 - import and create the driver before the clock starts
        report = WriteReport()
        started = time.monotonic()
        dimensions = next((len(c["embedding"]) for c in chunks if c.get("embedding")), None)
        report.vector_index = self.ensure_schema(dimensions)
        self._write(cypher.MERGE_DOCUMENTS, documents, report)
        report.documents = len(documents)
        t0 = time.monotonic()
        self._write_chunks(chunks, report)
        report.chunk_seconds = time.monotonic() - t0
        report.chunks = len(chunks)
        if prune and documents:
            self._prune_chunks(documents, chunks, report)
        self._write_links(links, link_sources, prune, report)
        self._write(cypher.MERGE_CITATIONS, citations or [], report)
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
