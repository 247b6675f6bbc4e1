"""The warehouse on PostgreSQL (PIPELINE_WAREHOUSE_URL): the same code, the same results as on DuckDB.

Each test gets a schema of its own on the session's server (pipeline_project_tests/postgres.py). The
documents chain, search, the item ledger and `status`/`retry` run unchanged; the tables they leave are
compared with the DuckDB default's where both run.
"""

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipeline_project import samples
from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.defs.documents.queries import search, stage_counts
from pipeline_project.defs.documents.tables import ensure_schema, replace_batch_rows
from pipeline_project.lib import ledger
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.pg import POOL
from pipeline_project.lib.warehouse import WarehouseResource
from pipeline_project_tests import postgres
from pipeline_project_tests.defs.documents.helpers import claim_inbox

# the status/retry scenario of lib/test_status_retry.py, run here with the Postgres warehouse
from pipeline_project_tests.lib.test_status_retry import (  # noqa: F401
    downloads, test_retry_fetches_a_dead_letter_once_it_can)


@pytest.fixture(autouse=True)
def pg_url(monkeypatch, data_dir):
    with postgres.fresh_schema(postgres.require_server()) as url:
        monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", url)
        yield url
        POOL.close_idle(url)


@pytest.fixture
def warehouse(storage, pg_url) -> WarehouseResource:
    return WarehouseResource(database=str(storage.warehouse_path), url=pg_url)


def rows(warehouse: WarehouseResource, sql: str) -> list[tuple]:
    with warehouse.get_connection() as conn:
        return conn.execute(sql).fetchall()


def test_the_warehouse_follows_the_setting(warehouse, pg_url):
    assert warehouse.backend == "postgres" and warehouse.url == pg_url
    with warehouse.get_connection() as conn:
        assert conn.execute("SELECT current_schema()").fetchone()[0].startswith("test_")
    assert not Path(warehouse.database).exists()  # nothing written to the DuckDB file


def test_text_survives_the_copy_exactly(warehouse):
    """What PDFs and file names send: tabs, newlines, backslashes, quotes, NULs (dropped, as on DuckDB)."""
    texts = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "quote ' and \" ", "", "nul\x00byte", "ü ß 漢字"]
    frame = pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(texts))], "page": 1, "batch_id": "b1",
                          "method": "text_layer", "text": texts})
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        assert replace_batch_rows(conn, "pages", "b1", frame) == len(texts)
        assert replace_batch_rows(conn, "pages", "b1", frame) == len(texts)  # a re-run replaces, never adds
    stored = [r[0] for r in rows(warehouse, "SELECT text FROM pages ORDER BY doc_id")]
    assert stored == [t.replace("\x00", "") for t in texts]


def ledger_story(warehouse: WarehouseResource) -> tuple:
    """Starts, a success, failures up to dead letter, a re-queue: what every domain's stages do."""
    book = ledger.Ledger(warehouse, "documents", max_attempts=2)
    book.start("b1", "ocr", ["a", "b", "c"], label="scan.pdf")
    book.done("b1", "ocr", ["a"], detail={"pages": 3})
    book.fail("b1", "ocr", "b", "engine timed out")
    book.fail("b1", "ocr", "c", "engine timed out")
    book.start("b1", "ocr", ["c"])
    book.fail("b1", "ocr", "c", "engine timed out again")
    with warehouse.get_connection() as conn:
        counts = ledger.counts(conn)
        requeued = ledger.requeue(conn, dead_letters=True)
    return counts, requeued, [r.as_dict() | {"updated_at": None} for r in book.rows()]


def test_the_item_ledger_behaves_as_on_duckdb(warehouse, storage):
    on_postgres = ledger_story(warehouse)
    on_duckdb = ledger_story(WarehouseResource(database=str(storage.root_path / "ledger.duckdb")))
    assert on_postgres == on_duckdb
    counts, requeued, _ = on_postgres
    assert counts == {"documents": {"ocr": {"dead_letter": 1, "done": 1, "failed": 1}}}
    assert requeued == {"documents": {"b1": 2}}


def documents_tables(warehouse: WarehouseResource) -> dict:
    return {
        "documents": rows(warehouse, "SELECT doc_id, source_file, pages, chars FROM documents ORDER BY doc_id"),
        "pages": rows(warehouse, "SELECT doc_id, page, method, text FROM pages ORDER BY doc_id, page"),
        "chunks": rows(warehouse, "SELECT chunk_id, doc_id, chunk_index, page_start, page_end, text FROM chunks "
                                  "ORDER BY chunk_id"),
        "embedded": rows(warehouse, "SELECT chunk_id, model FROM embeddings ORDER BY chunk_id"),
        "intake": rows(warehouse, "SELECT source_file, status, reason FROM pdf_intake ORDER BY source_file"),
        "ledger": rows(warehouse, "SELECT domain, stage, state, label, last_error FROM item_ledger "
                                  "ORDER BY domain, stage, label, state"),
    }


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    good = samples.born_digital_pdf(folder / "memo.pdf", pages=3)
    samples.image_only_pdf(folder / "scan.pdf", ["Harbour inspection report", "Crane 7 needs repair"])
    samples.bad_files(folder / "bad", good)
    return folder


def run_corpus(corpus: Path, instance, storage, warehouse) -> tuple[str, dict, list[dict]]:
    shutil.copytree(corpus, storage.inbox, dirs_exist_ok=True)
    batch_id = claim_inbox(instance, storage)
    resources = {"storage": storage, "warehouse": warehouse, "embedder": EmbedderResource(),
                 "ocr_engine": LocalOcrEngine()}
    for _ in range(2):  # the second run of the batch must change nothing
        result = dg.materialize(documents_assets, partition_key=batch_id, resources=resources, instance=instance)
        assert result.success
    hits = {mode: search(warehouse, EmbedderResource(), "crane repair at the harbour", k=3, mode=mode)
            for mode in ("hybrid", "vector", "lexical")}
    return batch_id, documents_tables(warehouse), hits


def test_documents_and_search_on_postgres_match_duckdb(corpus, instance, storage, warehouse, tmp_path, monkeypatch):
    _, on_postgres, pg_hits = run_corpus(corpus, instance, storage, warehouse)

    monkeypatch.delenv("PIPELINE_WAREHOUSE_URL")
    duck_storage = type(storage)(root=str(tmp_path / "duck"))
    duck = WarehouseResource(database=str(duck_storage.warehouse_path))
    with dg.instance_for_test() as duck_instance:
        _, on_duckdb, duck_hits = run_corpus(corpus, duck_instance, duck_storage, duck)

    assert on_postgres == on_duckdb
    assert len(on_postgres["documents"]) == 4 and len(on_postgres["embedded"]) == len(on_postgres["chunks"]) > 0
    for mode in ("hybrid", "vector", "lexical"):  # lower ranks may swap near-ties (float rounding)
        assert pg_hits[mode][0]["chunk_id"] == duck_hits[mode][0]["chunk_id"], mode
        assert pg_hits[mode][0]["source_file"] == "scan.pdf" and "Crane" in pg_hits[mode][0]["text"], mode
    for mode in ("vector", "lexical"):  # cosine and BM25 scores computed by each engine
        assert [h["score"] for h in pg_hits[mode]] == pytest.approx([h["score"] for h in duck_hits[mode]], abs=1e-4)
    # the CLI's search (no Dagster, no server) reads the same Postgres warehouse
    from pipeline_project.defs.documents.search import service

    monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", warehouse.url)
    cli_hits = service.search("crane repair at the harbour", k=3, mode="hybrid", use_server=False)["hits"]
    assert [h["chunk_id"] for h in cli_hits] == [h["chunk_id"] for h in pg_hits["hybrid"]]
    counts = stage_counts(warehouse)
    assert (counts["accepted"], counts["quarantined"], counts["dead_letters"]) == (4, 5, 0)
