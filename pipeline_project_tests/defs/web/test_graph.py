"""The graph writer against a real Bolt server (ArcadeDB), with the official neo4j driver."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_project.defs.web.graph import GraphWriter
from pipeline_project.defs.web.graph_settings import GraphSettings


@pytest.fixture
def writer(bolt_server):
    settings = GraphSettings(uri=bolt_server["uri"], user=bolt_server["user"], password=bolt_server["password"],
                             database=bolt_server["database"], batch_rows=7,  # several transactions per write
                             arcadedb_http=bolt_server["http"] or None)
    with GraphWriter(settings) as w:
        w.clear()
        yield w


def _rows(n_docs=3, chunks_per_doc=4, dim=384, seed=0):
    rng = np.random.default_rng(seed)
    docs = [{"id": f"doc{i}", "source_type": "web", "title": f"Page {i}", "url": f"http://site/{i}",
             "source_file": None} for i in range(n_docs)]
    chunks = []
    for d in docs:
        for j in range(chunks_per_doc):
            v = rng.normal(size=dim).astype(np.float32)
            chunks.append({"id": f"{d['id']}-c{j}", "doc_id": d["id"], "text": f"text {j} of {d['id']}",
                           "page": 1, "chunk_index": j, "embedding": (v / np.linalg.norm(v)).tolist(),
                           "model": "test-model"})
    return docs, chunks


def test_documents_chunks_links_and_no_duplicates_on_rewrite(writer):
    docs, chunks = _rows()
    links = [{"source": "doc0", "target": "doc1"}, {"source": "doc1", "target": "doc2"},
             {"source": "doc2", "target": "doc0"}]
    report = writer.write(docs, chunks, links, link_sources=["doc0", "doc1", "doc2"])
    assert report.transactions >= 4 and report.chunks == 12
    first = writer.stats()
    assert first["nodes"] == {"Chunk": 12, "Document": 3}
    assert first["relationships"] == {"HAS_CHUNK": 12, "LINKS_TO": 3}
    writer.write(docs, chunks, links, link_sources=["doc0", "doc1", "doc2"])
    assert writer.stats() == first
    props = writer.driver.execute_query(
        "MATCH (d:Document {id: 'doc1'})-[:HAS_CHUNK]->(c:Chunk {id: 'doc1-c2'}) "
        "RETURN d.url AS url, d.title AS title, d.source_type AS st, c.text AS text, c.page AS page, "
        "size(c.embedding) AS dim", database_=writer.settings.database).records[0].data()
    assert props == {"url": "http://site/1", "title": "Page 1", "st": "web", "text": "text 2 of doc1",
                     "page": 1, "dim": 384}


def test_a_changed_page_loses_its_old_chunks_and_links(writer):
    docs, chunks = _rows()
    writer.write(docs, chunks, [{"source": "doc0", "target": "doc1"}, {"source": "doc0", "target": "doc2"}],
                 link_sources=["doc0"])
    changed = [c for c in chunks if c["doc_id"] == "doc0"][:2]  # doc0 now has two chunks
    report = writer.write(docs[:1], changed, [{"source": "doc0", "target": "doc2"}], link_sources=["doc0"])
    assert report.pruned_chunks == 2
    stats = writer.stats()
    assert stats["nodes"] == {"Chunk": 10, "Document": 3}
    assert stats["relationships"] == {"HAS_CHUNK": 10, "LINKS_TO": 1}


def test_citations_merge_works_once(writer):
    docs, chunks = _rows(n_docs=2, chunks_per_doc=1)
    cites = [{"doc_id": "doc0", "doi": "10.1000/xyz", "title": "A work"},
             {"doc_id": "doc1", "doi": "10.1000/xyz", "title": "A work"}]
    writer.write(docs, chunks, citations=cites)
    writer.write(docs, chunks, citations=cites)
    stats = writer.stats()
    assert stats["nodes"]["Work"] == 1 and stats["relationships"]["CITES"] == 2


def test_vector_index_finds_the_nearest_chunk(writer):
    docs, chunks = _rows(n_docs=4, chunks_per_doc=5)
    writer.write(docs, chunks)
    target = chunks[13]
    hits = writer.similar_chunks(target["embedding"], k=3)
    assert hits[0]["chunk_id"] == target["id"] and hits[0]["url"] == "http://site/2"
    assert writer.vector_index().name == "arcadedb"


def test_transactions_stay_under_the_message_size():
    from pipeline_project.defs.web.graph import batches

    rows = [{"id": str(i), "text": "x" * 1000, "embedding": [0.1] * 384} for i in range(10)]
    assert [len(b) for b in batches(rows, size=4)] == [4, 4, 2]
    assert [len(b) for b in batches(rows, size=100, max_bytes=3 * 4600)] == [3, 3, 3, 1]


def test_rows_for_a_batch_with_citations(tmp_path):
    """Documents, chunks with vectors and matched citations of one batch, read back from the warehouse."""
    import duckdb

    from pipeline_project.defs.documents.tables import ensure_schema
    from pipeline_project.defs.web.graph_rows import rows_for_batch
    from pipeline_project.lib.warehouse import WarehouseResource

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        ensure_schema(conn)
        conn.execute("INSERT INTO documents (doc_id, batch_id, source_file, ocr_source) VALUES "
                     "('d1', 'b1', '/in/paper.pdf', 'local'), ('d2', 'b2', '/in/other.pdf', 'local')")
        conn.execute("INSERT INTO chunks VALUES ('c1', 'd1', 'b1', 0, 2, 2, 5, 'hello'), ('c2', 'd2', 'b2', 0, 1, 1, 5, 'x')")
        conn.execute("INSERT INTO embeddings VALUES ('c1', 'm', 'b1', [0.5, 0.5])")
        conn.execute("CREATE TABLE with_metadata (ref_id VARCHAR, doc_id VARCHAR, status VARCHAR, doi VARCHAR, title VARCHAR)")
        conn.execute("INSERT INTO with_metadata VALUES ('r1', 'd1', 'matched', '10.1/ABC', 'Cited work'), "
                     "('r2', 'd1', 'unmatched', '10.1/guess', 'Guess'), ('r3', 'd2', 'matched', '10.1/x', 'Other')")
    rows = rows_for_batch(WarehouseResource(database=str(path)), "b1", "m")
    assert rows.documents == [{"id": "d1", "source_type": "pdf", "url": None, "source_file": "/in/paper.pdf",
                               "title": "paper"}]
    assert [(c["id"], c["page"], c["embedding"], c["model"]) for c in rows.chunks] == [("c1", 2, [0.5, 0.5], "m")]
    assert rows.citations == [{"doc_id": "d1", "doi": "10.1/abc", "title": "Cited work"}]
