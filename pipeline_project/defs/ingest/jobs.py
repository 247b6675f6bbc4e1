"""The download job: one slice of the identifier list per run."""

import dagster as dg

from pipeline_project.defs.ingest.partitions import download_slices

download_slice_job = dg.define_asset_job(
    "download_slice_job", selection=dg.AssetSelection.assets("downloaded_pdfs"), partitions_def=download_slices,
    description="Downloads one slice of the identifier list into the documents inbox.",
)


def rerun_target(partition_key: str) -> tuple[str, str]:
    """What `pipeline-project retry` runs to redo one slice."""
    return download_slice_job.name, partition_key
