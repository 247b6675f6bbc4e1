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


def _chunk_properties(writer) -> dict:
    records = writer.driver.execute_query("MATCH (c:Chunk) RETURN properties(c) AS p",
                                          database_=writer.settings.database).records
    return {r["p"]["id"]: r["p"] for r in records}


def _expected(chunk: dict) -> dict:
    """What a chunk node holds: no page when it has none, no vector or model before it is embedded."""
    props = {"id": chunk["id"], "text": chunk["text"], "chunk_index": chunk["chunk_index"]}
    if chunk["page"] is not None:
        props["page"] = chunk["page"]
    if chunk["embedding"]:
        props.update(embedding=pytest.approx(chunk["embedding"], abs=1e-6), model=chunk["model"])
    return props


def test_new_and_rewritten_chunks_hold_the_same_properties(writer):
    """A first write (new chunks) and a re-run (chunks found) leave the same nodes, including a chunk
    without a page and one whose vector is not there yet; a new model replaces the vectors."""
    docs, chunks = _rows(n_docs=2, chunks_per_doc=3)
    chunks[1]["page"] = None
    chunks[4].update(embedding=[], model="")
    writer.write(docs, chunks)
    first = _chunk_properties(writer)
    assert first == {c["id"]: _expected(c) for c in chunks}
    writer.write(docs, chunks)
    assert _chunk_properties(writer) == first

    _, re_embedded = _rows(n_docs=2, chunks_per_doc=3, seed=1)
    for chunk, new in zip(chunks, re_embedded):
        chunk.update(embedding=new["embedding"], model="other-model")
    writer.write(docs, chunks)
    assert _chunk_properties(writer) == {c["id"]: _expected(c) for c in chunks}
    assert writer.stats()["relationships"] == {"HAS_CHUNK": 6}


def test_two_writers_of_the_same_rows_at_once_create_no_duplicates(writer, bolt_server):
    """The sink and `graph sync` writing the same batch at the same moment: whichever creates a chunk
    first, the other finds it (or MERGEs after the unique constraint stops its CREATE)."""
    from concurrent.futures import ThreadPoolExecutor

    docs, chunks = _rows(n_docs=6, chunks_per_doc=20)
    links = [{"source": f"doc{i}", "target": f"doc{(i + 1) % 6}"} for i in range(6)]
    writer.ensure_schema(384)
    with GraphWriter(writer.settings) as other, ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda w: w.write(docs, chunks, links, link_sources=[d["id"] for d in docs]), [writer, other]))
    assert writer.stats()["nodes"] == {"Chunk": 120, "Document": 6}
    assert writer.stats()["relationships"] == {"HAS_CHUNK": 120, "LINKS_TO": 6}
    assert _chunk_properties(writer) == {c["id"]: _expected(c) for c in chunks}


def _add_page(conn, batch: str, name: str, links_to: list[str]) -> str:
    """A crawled page in the warehouse, as the documents chain leaves it: document, one chunk, its vector."""
    from pipeline_project.defs.web.items import doc_id_for_url

    url = f"http://site/{name}.html"
    doc_id = doc_id_for_url(url)
    conn.execute("INSERT INTO documents (doc_id, batch_id, source_file, ocr_source) VALUES (?, ?, ?, 'web')",
                 [doc_id, batch, url])
    conn.execute("INSERT INTO chunks VALUES (?, ?, ?, 0, 1, 1, 5, ?)", [f"{name}-c0", doc_id, batch, f"text of {name}"])
    conn.execute("INSERT INTO embeddings VALUES (?, 'm', ?, ?)", [f"{name}-c0", batch, [0.05] * 384])
    conn.execute("INSERT INTO web_pages VALUES (?, ?, ?, ?, 'c', 'r', '2026-01-01T00:00:00', ?, ?, ?, NULL)",
                 [doc_id, url, url, name, name, [f"http://site/{t}.html" for t in links_to], batch])
    return doc_id


def test_batches_written_at_the_same_time_keep_the_links_between_them(bolt_server, tmp_path):
    """Page a links to page b and back. a's batch is being written to the graph (its rows are read)
    when b's batch arrives and is written in full; when a's write goes on, its links are read again
    and both links are there, with no `graph sync`."""
    import duckdb

    from pipeline_project.defs.documents.tables import ensure_schema
    from pipeline_project.defs.web.graph_rows import links_for_batch, rows_for_batch, write_batch
    from pipeline_project.defs.web.tables import ensure_web_schema
    from pipeline_project.lib.warehouse import WarehouseResource

    path = tmp_path / "w.duckdb"
    warehouse = WarehouseResource(database=str(path))
    settings = GraphSettings(uri=bolt_server["uri"], user=bolt_server["user"], password=bolt_server["password"],
                             database=bolt_server["database"], vector_index="none")
    with duckdb.connect(str(path)) as conn:
        ensure_schema(conn)
        ensure_web_schema(conn)
        a = _add_page(conn, "batch-a", "a", links_to=["b"])
    with GraphWriter(settings) as writer_a, GraphWriter(settings) as writer_b:
        writer_a.clear()
        rows_a = rows_for_batch(warehouse, "batch-a", "m")  # a's write begins
        assert rows_a.links == []  # b is not in the warehouse yet

        with duckdb.connect(str(path)) as conn:
            b = _add_page(conn, "batch-b", "b", links_to=["a"])
        write_batch(writer_b, warehouse, "batch-b", "m")  # b's write: a is not in the graph yet

        writer_a.write(rows_a.documents, rows_a.chunks, lambda: links_for_batch(warehouse, "batch-a"),
                       link_sources=rows_a.link_sources)
        links = writer_a.driver.execute_query(
            "MATCH (x:Document)-[:LINKS_TO]->(y:Document) RETURN x.id AS x, y.id AS y",
            database_=settings.database).records
        assert {(r["x"], r["y"]) for r in links} == {(a, b), (b, a)}
        writer_a.clear()
