"""The ingest domain: continuous downloader feeding the documents inbox, with disk backpressure."""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.ingest.assets import download_slice_job, downloaded_pdfs
from pipeline_project.defs.ingest.resources import DownloaderResource
from pipeline_project.defs.ingest.sensors import download_slices_sensor

defs = dg.Definitions(
    assets=[downloaded_pdfs],
    jobs=[download_slice_job],
    sensors=[download_slices_sensor],
    # only this domain's key: `storage` comes from the documents domain (same $PIPELINE_DATA_DIR)
    resources={"downloader": DownloaderResource.from_env()},
)
