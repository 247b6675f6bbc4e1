"""The Dagster side: the web_crawl asset (a crawl partition), web_items_sensor cutting its pages into
batches of the documents chain, and the graph sink switched off without failing anything."""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.documents import assets as documents
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.defs.web.assets import crawl_config_path, graph_sink, web_crawl
from pipeline_project.defs.web.partitions import web_crawls
from pipeline_project.defs.web.resources import GraphSinkResource
from pipeline_project.defs.web.sensors import web_items_sensor
from pipeline_project.lib import ledger
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.warehouse import WarehouseResource
from pipeline_project.samples.sites import GeneratedSite, crawl_config_yaml


def test_crawl_asset_then_sensor_batches_then_documents_chain_without_graph(storage, instance, monkeypatch):
    monkeypatch.setenv("PIPELINE_WEB_SETTLE_SECONDS", "0")  # no daemon here: the sensor is ticked below
    warehouse = WarehouseResource(database=str(storage.warehouse_path))
    resources = {"storage": storage, "warehouse": warehouse, "embedder": EmbedderResource(),
                 "ocr_engine": LocalOcrEngine(), "graph": GraphSinkResource(enabled=False)}
    with GeneratedSite(5, slow_seconds=0.1, dangling_every=0) as site:
        base = site.base_url
        path = crawl_config_path(storage, "tiny")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(crawl_config_yaml(site, name="tiny", page_limit=4))
        instance.add_dynamic_partitions(web_crawls.name, ["tiny"])
        result = dg.materialize([web_crawl], partition_key="tiny", instance=instance, resources=resources)
    (mat,) = result.asset_materializations_for_node("web_crawl")
    assert mat.metadata["pages_saved"].value == 4 and mat.metadata["files"].value == 4
    assert mat.metadata["progress"].value.startswith("Progress: Files=4, Docs=0, Chunks=0, Embeddings=0, Errors=")
    rows = ledger.Ledger(warehouse, "web").rows(stage="crawl")
    assert {r.partition_key for r in rows} == {"tiny"}
    problems = {r.item_id.replace(base, ""): (r.state, r.last_error) for r in rows if r.last_error}
    assert problems["/broken.html"] == (ledger.FAILED, "HTTP 500 Internal Server Error")  # may work next time
    assert problems["/loop/a"][0] == ledger.DEAD_LETTER and "redirect loop" in problems["/loop/a"][1]
    assert len(problems) == mat.metadata["crawl_errors"].value
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["dead_letters"].value == len(
        [p for p in problems.values() if p[0] == ledger.DEAD_LETTER])

    (storage.inbox / "web" / "item_0000broken.json").write_text('{"url": "http://x/", "trunc')  # a torn file
    sensor_result = web_items_sensor(dg.build_sensor_context(instance=instance, resources={"storage": storage}))
    (request,) = sensor_result.run_requests
    instance.add_dynamic_partitions("ocr_batches", [request.partition_key])
    chain = dg.materialize([documents.raw_pdfs, documents.ocr_jsonl, documents.documents, documents.chunks,
                            documents.embeddings, graph_sink], partition_key=request.partition_key,
                           instance=instance, resources=resources)
    assert chain.success
    (sink,) = chain.asset_materializations_for_node("graph_sink")
    assert sink.metadata["graph_sink"].value == "off"
    (embedded,) = chain.asset_materializations_for_node("embeddings")
    assert embedded.metadata["embedded"].value > 4
    (intake,) = chain.asset_materializations_for_node("raw_pdfs")
    assert intake.metadata["accepted"].value == 4 and intake.metadata["quarantined"].value == 1
    (bad,) = [r for r in ledger.Ledger(warehouse, "web").rows(stage="intake") if r.state == ledger.DEAD_LETTER]
    assert "not a readable item file" in bad.last_error and bad.quarantine_path.endswith("item_0000broken.json")
    assert len(list((storage.root_path / "quarantine" / "web").rglob("*.reason.txt"))) == 1
