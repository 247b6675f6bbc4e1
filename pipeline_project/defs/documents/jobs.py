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


def rerun_target(partition_key: str) -> tuple[str, str]:
    """What `pipeline-project retry` runs to redo one batch."""
    return documents_job.name, partition_key
