"""A crawl of a loopback site, streamed through the documents chain into the warehouse and a real
Bolt server (ArcadeDB): one document, chunks and embeddings per saved page, search hits with URLs,
the graph's nodes and links against the site's real link structure, and idempotent re-runs."""

from __future__ import annotations

import duckdb
import pytest

from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.defs.documents.queries import search
from pipeline_project.defs.web.config import load_config
from pipeline_project.defs.web.graph import GraphWriter
from pipeline_project.defs.web.graph_settings import GraphSettings
from pipeline_project.defs.web.resources import GraphSinkResource
from pipeline_project.defs.web.runner import run_crawl
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource
from pipeline_project.samples.sites import GeneratedSite, crawl_config_yaml


@pytest.fixture(scope="module")
def world(tmp_path_factory, bolt_server):
    """A site, a storage root, an instance, resources with the graph on, and a `crawl()` helper."""
    import dagster as dg

    root = tmp_path_factory.mktemp("web_pipeline")
    mp = pytest.MonkeyPatch()
    mp.setenv("PIPELINE_DATA_DIR", str(root / "data"))
    mp.setenv("PIPELINE_WEB_MAX_PAGE_BYTES", "1000000")
    storage = StorageResource(root=str(root / "data"))
    settings = GraphSettings(uri=bolt_server["uri"], user=bolt_server["user"], password=bolt_server["password"],
                             database=bolt_server["database"], arcadedb_http=bolt_server["http"] or None)
    graph = GraphSinkResource(enabled=True, uri=settings.uri, user=settings.user, password=settings.password,
                              database=settings.database, arcadedb_http=settings.arcadedb_http or "")
    with GraphWriter(settings) as writer:
        writer.clear()
    resources = {"storage": storage, "warehouse": WarehouseResource(database=str(storage.warehouse_path)),
                 "embedder": EmbedderResource(), "ocr_engine": LocalOcrEngine(), "graph": graph}
    with GeneratedSite(12, slow_seconds=0.5, dangling_every=5) as site, dg.instance_for_test() as instance:
        config_path = root / "site.yaml"
        config_path.write_text(crawl_config_yaml(site, name="site"))
        lines: list[str] = []

        def crawl(mode: str = "streaming"):
            return run_crawl(load_config(config_path), instance=instance, resources=resources, mode=mode,
                             with_graph=True, out=lines.append, progress_every=0.5)

        first = crawl()
        yield {"site": site, "storage": storage, "resources": resources, "graph": settings, "crawl": crawl,
               "first": first, "lines": lines, "instance": instance}
    mp.undo()


def _sql(storage, query, params=()):
    with duckdb.connect(str(storage.warehouse_path), read_only=True) as conn:
        return conn.execute(query, list(params)).fetchall()


def _graph(world, query, **params):
    with GraphWriter(world["graph"]) as w:
        return [r.data() for r in w.driver.execute_query(query, params, database_=world["graph"].database).records]


def test_every_saved_page_is_a_document_with_chunks_and_embeddings(world):
    site, storage, report = world["site"], world["storage"], world["first"]
    expected, _ = site.expected()
    urls = {r[0] for r in _sql(storage, "SELECT source_file FROM documents WHERE ocr_source = 'web'")}
    assert {u.replace(site.base_url, "") for u in urls} == expected
    no_chunks = _sql(storage, """SELECT d.source_file FROM documents d LEFT JOIN chunks c USING (doc_id)
                                 WHERE d.ocr_source = 'web' GROUP BY 1 HAVING count(c.chunk_id) = 0""")
    assert no_chunks == []
    unembedded = _sql(storage, "SELECT count(*) FROM chunks c LEFT JOIN embeddings e USING (chunk_id) WHERE e.chunk_id IS NULL")
    assert unembedded == [(0,)]
    p = report.progress
    assert p.files == p.docs == len(expected) and p.chunks == p.embeddings > p.docs
    assert p.errors == report.crawl_counts["error"] > 0  # 404s, the 500, the loop, the huge page


def test_progress_line_printed_while_running_and_at_the_end(world):
    lines = [line for line in world["lines"] if line.startswith("Progress: ")]
    assert lines and lines[-1] == world["first"].progress.line
    assert lines[-1].startswith(f"Progress: Files={world['first'].progress.files}, Docs=")


def test_search_hits_show_the_url(world):
    site, resources = world["site"], world["resources"]
    hits = search(resources["warehouse"], resources["embedder"], "glacier ice meltwater crevasse moraine", k=3)
    assert hits[0]["url"] and hits[0]["url"].startswith(site.base_url + "/p/")
    page = site.pages[hits[0]["url"].replace(site.base_url, "")]
    assert page.title.startswith("Glaciers")
    assert hits[0]["source_file"] == hits[0]["url"]


def test_graph_matches_the_site_link_structure(world):
    site = world["site"]
    expected_pages, expected_links = site.expected()
    docs = _graph(world, "MATCH (d:Document) WHERE d.source_type = 'web' RETURN d.url AS url")
    assert {d["url"].replace(site.base_url, "") for d in docs} == expected_pages
    links = _graph(world, "MATCH (a:Document)-[:LINKS_TO]->(b:Document) RETURN a.url AS a, b.url AS b")
    assert {(x["a"].replace(site.base_url, ""), x["b"].replace(site.base_url, "")) for x in links} == expected_links
    chunks = _sql(world["storage"], "SELECT count(*) FROM chunks")[0][0]
    assert _graph(world, "MATCH (:Document)-[r:HAS_CHUNK]->(:Chunk) RETURN count(r) AS n") == [{"n": chunks}]
    assert _graph(world, "MATCH (c:Chunk) WHERE size(c.embedding) = 384 RETURN count(c) AS n") == [{"n": chunks}]


def test_recrawl_of_unchanged_site_embeds_nothing_and_duplicates_nothing(world):
    storage = world["storage"]
    before_graph = GraphWriter(world["graph"]).stats()
    before = _sql(storage, "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks), (SELECT count(*) FROM embeddings)")
    again = world["crawl"]()
    assert not again.failed
    assert _sql(storage, "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks), (SELECT count(*) FROM embeddings)") == before
    statuses = _sql(storage, f"SELECT status, count(*) FROM pdf_intake WHERE batch_id IN (SELECT unnest(?)) GROUP BY 1",
                    [again.batches])
    assert dict(statuses) == {"duplicate": again.progress.files}
    assert again.progress.line == world["first"].progress.line
    assert GraphWriter(world["graph"]).stats() == before_graph


def test_a_changed_page_re_embeds_only_its_changed_chunks(world):
    import dagster as dg

    site, storage, instance = world["site"], world["storage"], world["instance"]
    doc_url = site.url("/p/4.html")
    old_chunks = {r[0] for r in _sql(storage, "SELECT chunk_id FROM chunks JOIN documents USING (doc_id) WHERE source_file = ?", [doc_url])}
    site.change_page(4)
    again = world["crawl"]()
    (batch,) = [b for b in again.batches
                if _sql(storage, "SELECT count(*) FROM pdf_intake WHERE batch_id = ? AND status = 'accepted'", [b])[0][0]]
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("embeddings"), asset_partitions=[batch]), limit=1).records
    mat = record.asset_materialization
    new_chunks = {r[0] for r in _sql(storage, "SELECT chunk_id FROM chunks JOIN documents USING (doc_id) WHERE source_file = ?", [doc_url])}
    assert mat.metadata["embedded"].value == len(new_chunks - old_chunks) > 0
    assert mat.metadata["reused"].value == len(new_chunks & old_chunks) > 0
    # the page's old chunks are gone from the warehouse and the graph
    assert _sql(storage, "SELECT count(*) FROM embeddings WHERE chunk_id IN (SELECT unnest(?))", [list(old_chunks - new_chunks)]) == [(0,)]
    in_graph = _graph(world, "MATCH (d:Document {url: $url})-[:HAS_CHUNK]->(c:Chunk) RETURN c.id AS id", url=doc_url)
    assert {c["id"] for c in in_graph} == new_chunks
    assert again.progress.files == again.progress.docs == world["first"].progress.files


def test_the_linked_pdf_goes_through_the_pdf_chain_into_the_graph(world):
    """The crawl put the site's PDF in the PDF inbox; the documents chain reads it, and the graph sink
    writes it as a `pdf` document beside the web pages."""
    import os
    import time

    import dagster as dg

    from pipeline_project.defs.documents import assets as documents
    from pipeline_project.defs.documents.batching import BatchPolicy
    from pipeline_project.defs.documents.partitions import ocr_batches
    from pipeline_project.defs.documents.sensors import cut_batches
    from pipeline_project.defs.web.assets import graph_sink

    storage, instance = world["storage"], world["instance"]
    (pdf,) = (storage.inbox / "web-pdfs" / "site").glob("*.pdf")
    old = time.time() - 60
    os.utime(pdf, (old, old))  # the PDF sensor leaves files alone while they may still be copied
    ids, _, _ = cut_batches(instance, storage, None, BatchPolicy(min_pages=10_000), force=True)
    (batch_id,) = ids  # the crawl's item files were not taken as PDFs
    instance.add_dynamic_partitions(ocr_batches.name, [batch_id])
    result = dg.materialize([documents.raw_pdfs, documents.ocr_jsonl, documents.documents, documents.chunks,
                             documents.embeddings, graph_sink], partition_key=batch_id, instance=instance,
                            resources=world["resources"])
    assert result.success
    docs = _graph(world, "MATCH (d:Document) WHERE d.source_type = 'pdf' RETURN d.source_file AS f, d.title AS t")
    assert len(docs) == 1 and docs[0]["f"].endswith("report.pdf")
    chunks = _graph(world, "MATCH (d:Document {source_type: 'pdf'})-[:HAS_CHUNK]->(c:Chunk) RETURN c.text AS text")
    assert any("Annual report" in c["text"] for c in chunks)
