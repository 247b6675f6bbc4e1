"""raw_pdfs → ocr_jsonl → documents → chunks → embeddings, each partitioned by OCR batch.

Assets pass data through files and the DuckDB warehouse, not IO managers: each stage's output is
something a person can open (the batch folder, the JSONL, the tables).
"""


import time

import dagster as dg
import pandas as pd

from pipeline_project.defs.documents import checks
from pipeline_project.defs.documents.batching import read_manifest
from pipeline_project.defs.documents.ocr.base import OcrBatchResult, OcrEngine
from pipeline_project.defs.documents.olmocr_format import doc_id_of, write_jsonl
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.documents.resources import embedding_engine_from_env
from pipeline_project.defs.documents import stages, warehouse_io
from pipeline_project.defs.documents.search import index as search_index
from pipeline_project.defs.web import intake as web_intake  # batches of crawled pages take the same chain
from pipeline_project.lib.automation import follow_parents
from pipeline_project.lib.checks import dead_letters_result
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.home import EMBEDDING_POOL
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource

GROUP = DOMAIN = "documents"
# Downstream stages follow any new materialization of their parent made outside their own chain's run,
# e.g. by hand in the UI; the intake sensor requests the whole chain itself for new batches.
FOLLOW = follow_parents()


@dg.asset(
    partitions_def=ocr_batches,
    group_name=GROUP,
    kinds={"pdf", "duckdb"},
    check_specs=[checks.QUARANTINE_SPEC],
    description="Every file of the batch validated, identified by content hash and moved into the "
    "content-addressed store; unreadable files quarantined with a reason; repeats recorded as duplicates.",
)
def raw_pdfs(context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource):
    started = time.monotonic()
    batch_id = context.partition_key
    manifest = read_manifest(storage.batches / batch_id)
    if web_intake.is_web_batch(manifest):  # crawled pages (defs/web): item files, not PDFs
        records = web_intake.intake_web_batch(storage, warehouse, batch_id, manifest)
    else:
        records = stages.intake_batch(storage, batch_id,
                                      lambda ids: warehouse_io.accepted_elsewhere(warehouse, ids, batch_id))
    warehouse_io.save_intake(warehouse, batch_id, records)
    by_status = pd.Series([r["status"] for r in records]).value_counts().to_dict() if records else {}
    quarantined = [r for r in records if r["status"] == stages.QUARANTINED]
    return dg.MaterializeResult(
        metadata={
            "files": len(records),
            "accepted": by_status.get(stages.ACCEPTED, 0),
            "duplicates": by_status.get(stages.DUPLICATE, 0),
            "quarantined": len(quarantined),
            "pages": sum(r["pages"] for r in records if r["status"] == stages.ACCEPTED),
            "repaired": sum(bool(r.get("repaired")) for r in records if r["status"] == stages.ACCEPTED),
            "seconds": round(time.monotonic() - started, 2),
        },
        check_results=[checks.quarantine_result(quarantined)],
    )


@dg.asset(
    partitions_def=ocr_batches,
    group_name=GROUP,
    deps=[raw_pdfs],
    automation_condition=FOLLOW,
    kinds={"json"},
    check_specs=[checks.DEAD_LETTERS_SPEC],
    description="One JSONL per batch in olmOCR's output format, written by the configured OCR engine "
    "(local: PyMuPDF text layer + Tesseract; slurm: olmOCR on a GPU cluster). Documents the engine "
    "could not read become dead letters.",
)
def ocr_jsonl(context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource,
              ocr_engine: OcrEngine):
    started = time.monotonic()
    batch_id = context.partition_key
    batch_dir = storage.batches / batch_id
    inputs = stages.ocr_inputs(stages.read_intake(storage, batch_id))
    if web_intake.is_web_batch(read_manifest(batch_dir)):  # crawled pages: their text is already extracted
        engine = web_intake.PAGE_METHOD
        result = OcrBatchResult(web_intake.web_records(storage, warehouse, batch_id, stages.read_intake(storage, batch_id)))
    else:
        engine = ocr_engine.engine_name
        result = ocr_engine.ocr_batch(context, batch_id, inputs, batch_dir)
    write_jsonl(result.records, batch_dir / "ocr.jsonl")
    names = {i.doc_id: i.source_file for i in inputs}
    warehouse_io.save_ocr_outcomes(warehouse, batch_id, [doc_id_of(r) for r in result.records],
                                   result.failures, names)
    for doc_id, reason in result.failures.items():
        context.log.warning(f"dead letter {names.get(doc_id, doc_id)}: {reason}")
    pages = sum(r["metadata"]["pdf-total-pages"] for r in result.records)
    seconds = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            "engine": engine,
            "documents": len(result.records),
            "pages": pages,
            "dead_letters": len(result.failures),
            "seconds": round(seconds, 2),
            "pages_per_second": round(pages / seconds, 2) if seconds else 0.0,
            "path": dg.MetadataValue.path(str(batch_dir / "ocr.jsonl")),
            **result.metadata,
        },
        check_results=[dead_letters_result(warehouse, DOMAIN, batch_id, stages=["ocr"])],
    )


@dg.asset(
    partitions_def=ocr_batches,
    group_name=GROUP,
    deps=[ocr_jsonl],
    automation_condition=FOLLOW,
    kinds={"duckdb"},
    check_specs=[checks.PAGES_SPEC],
    description="Splits the batch's OCR JSONL into one JSON per document, loads documents and pages into "
    "DuckDB, verifies every page arrived, then deletes the stored source PDFs when PIPELINE_DELETE_SOURCE "
    "is after_ingest (frees disk for downloads).",
)
def documents(context: dg.AssetExecutionContext, storage: StorageResource, warehouse: WarehouseResource):
    started = time.monotonic()
    batch_id = context.partition_key
    records = stages.read_jsonl(storage.batches / batch_id / "ocr.jsonl")
    docs, pages = warehouse_io.split_documents(storage, batch_id, records)
    warehouse_io.save_documents(warehouse, batch_id, docs, pages)
    warehouse_io.verify_ingest(warehouse, docs, pages)
    freed = warehouse_io.delete_sources(storage, warehouse, batch_id) if storage.delete_source == "after_ingest" else 0
    method_counts = pages["method"].value_counts().to_dict() if len(pages) else {}
    return dg.MaterializeResult(
        metadata={
            "documents": len(docs),
            "pages": len(pages),
            "pages_text_layer": method_counts.get("text_layer", 0),
            "pages_ocr": method_counts.get("ocr", 0),
            "pages_empty": method_counts.get("empty", 0),
            "source_bytes_deleted": freed,
            "delete_policy": storage.delete_source,
            "seconds": round(time.monotonic() - started, 2),
        },
        check_results=[checks.pages_result(warehouse, batch_id)],
    )


class ChunkingConfig(dg.Config):
    chunk_tokens: int = 200  # all-MiniLM-L6-v2 reads at most 256 word pieces
    overlap_tokens: int = 40


@dg.asset(
    partitions_def=ocr_batches,
    group_name=GROUP,
    deps=[documents],
    automation_condition=FOLLOW,
    kinds={"duckdb"},
    check_specs=[checks.CHUNK_IDS_SPEC],
    description="Token-aware chunks with overlap, counted in the embedding model's tokens; chunk id = "
    "content hash; the pages each chunk came from are kept.",
)
def chunks(context: dg.AssetExecutionContext, config: ChunkingConfig, storage: StorageResource,
           warehouse: WarehouseResource, embedder: EmbedderResource):
    started = time.monotonic()
    batch_id = context.partition_key
    records = stages.read_jsonl(storage.batches / batch_id / "ocr.jsonl")
    frame = warehouse_io.chunk_batch(warehouse, batch_id, records, embedder.tokenizer(),
                                     config.chunk_tokens, config.overlap_tokens)
    warehouse_io.save_chunks(warehouse, batch_id, frame)
    with warehouse.get_connection() as conn:  # the batch's BM25 rows, replaced (never the whole corpus)
        search_index.index_batch(conn, batch_id)
    return dg.MaterializeResult(
        metadata={
            "chunks": len(frame),
            "tokens": int(frame["n_tokens"].sum()) if len(frame) else 0,
            "chunk_tokens": config.chunk_tokens,
            "overlap_tokens": config.overlap_tokens,
            "seconds": round(time.monotonic() - started, 2),
        },
        check_results=[checks.chunk_ids_result(warehouse)],
    )


@dg.asset(
    partitions_def=ocr_batches,
    group_name=GROUP,
    deps=[chunks],
    automation_condition=FOLLOW,
    kinds={"duckdb", "openvino"},
    check_specs=[checks.EMBEDDINGS_SPEC],
    # one embeddings step at a time on this machine, so one model copy in memory; the next batch's
    # OCR runs meanwhile (pool limit: lib/home.py, PIPELINE_EMBEDDING_SLOTS)
    pool=EMBEDDING_POOL,
    description="One sentence-transformers vector per chunk per model; chunks already embedded with "
    "the same model are reused, not embedded again.",
)
def embeddings(context: dg.AssetExecutionContext, warehouse: WarehouseResource, embedder: EmbedderResource,
               storage: StorageResource):
    started = time.monotonic()
    batch_id = context.partition_key
    todo, reused = warehouse_io.chunks_to_embed(warehouse, batch_id, embedder.model)
    # PIPELINE_EMBEDDING_ENGINE: local (here) | slurm (one cluster job for the batch)
    engine = embedding_engine_from_env()
    embedded = engine.embed_batch(context, batch_id, todo["text"].tolist(), embedder, storage.batches / batch_id)
    vectors = embedded.vectors
    warehouse_io.save_embeddings(warehouse, batch_id, embedder.model, todo["chunk_id"].tolist(), vectors)
    seconds = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            "model": embedder.model,
            # (a remote engine reports its own backend below, without loading the model here)
            "backend": embedder.running_backend() if len(todo) and engine.engine_name == "local"
            else embedder.backend_name(),
            "embedded": len(todo),
            "reused": reused,
            "seconds": round(seconds, 2),
            "chunks_per_second": round(len(todo) / seconds, 2) if seconds and len(todo) else 0.0,
            **embedded.metadata,
        },
        check_results=[checks.embeddings_result(warehouse, batch_id, embedder.model)],
    )


# the chain in order: what drain, the tests and the SLURM job materialize in-process
documents_assets = [raw_pdfs, ocr_jsonl, documents, chunks, embeddings]
