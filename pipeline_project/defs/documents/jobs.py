"""The documents job: the whole chain for one batch, in one process.

The in-process executor avoids ~2.2 CPU-s of process start-up per step; batches still overlap
because each batch is its own run (the queued run coordinator runs several at once)."""

import dagster as dg

from pipeline_project.defs.documents.partitions import ocr_batches

documents_job = dg.define_asset_job(
    "documents_job",
    selection=dg.AssetSelection.groups("documents"),
    partitions_def=ocr_batches,
    executor_def=dg.in_process_executor,
    description="raw_pdfs → ocr_jsonl → documents → chunks → embeddings for one OCR batch.",
)


# The chain's assets, named in every run the sensors request: a run that says which assets it runs is
# one automation recognises as already running the next stage (AutomationCondition.any_deps_updated
# ignores a parent updated by such a run), so it never launches a second run of a stage of the batch.
CHAIN = [dg.AssetKey(name) for name in ("raw_pdfs", "ocr_jsonl", "documents", "chunks", "embeddings")]


def chain_run_request(batch_id: str, **tags: str) -> dg.RunRequest:
    """The documents_job run for one new batch."""
    return dg.RunRequest(run_key=batch_id, partition_key=batch_id, tags={"ocr_batch": batch_id, **tags},
                         asset_selection=CHAIN)


def rerun_target(partition_key: str) -> tuple[str, str]:
    """What `pipeline-project retry` runs to redo one batch."""
    return documents_job.name, partition_key
