"""The bibliography jobs, one OCR batch per run, in one process (the in-process executor saves the
start-up of a process per step)."""

import dagster as dg

from pipeline_project.defs.bibliography.partitions import ocr_batches

bibliography_job = dg.define_asset_job(
    "bibliography_job",
    selection=dg.AssetSelection.groups("bibliography"),
    partitions_def=ocr_batches,
    executor_def=dg.in_process_executor,
    description="no_metadata → with_metadata → to_download_references → downloaded_references for one batch.",
)

bibliography_enrich_job = dg.define_asset_job(
    "bibliography_enrich_job",
    selection=dg.AssetSelection.assets("with_metadata").downstream(),
    partitions_def=ocr_batches,
    executor_def=dg.in_process_executor,
    description="Enrichment (references still waiting for a service, or failed) and the downloads after it.",
)


def rerun_target(partition_key: str) -> tuple[str, str]:
    """What `pipeline-project retry` runs to redo a batch: the whole chain (each stage skips what is done)."""
    return bibliography_job.name, partition_key
