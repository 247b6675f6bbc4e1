"""The downloader's configuration, read from the environment (scale-out is configuration, not code).

PIPELINE_DOWNLOAD_LIST          identifier list (text or CSV); unset = the downloader is idle
PIPELINE_DOWNLOAD_URL_TEMPLATE  e.g. "{base_url}/{id}/{id}.pdf" (not needed for lists of URLs)
PIPELINE_DOWNLOAD_BASE_URL      substituted for {base_url}
PIPELINE_DOWNLOAD_SLICE_SIZE    items per partition (default 100)
PIPELINE_DOWNLOAD_START_FROM / PIPELINE_DOWNLOAD_MAX_ITEMS   a window of the list (--start-from / --max-items)
PIPELINE_DOWNLOAD_WORKERS / PIPELINE_DOWNLOAD_PER_HOST      threads per run / concurrent requests per host
PIPELINE_DOWNLOAD_MAX_CONCURRENT_SLICES                     slice runs the sensor keeps in flight
PIPELINE_DISK_HIGH_WATERMARK    pause downloads at this fraction of the disk (default 0.90)
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline_project.defs.ingest.backpressure import DiskState, disk_state, high_watermark
from pipeline_project.defs.ingest.downloader import FetchSettings
from pipeline_project.defs.ingest.items import DownloadItem, in_scope, load_list, slices_of
from pipeline_project.defs.ingest.download_ledger import DownloadLedger
from pipeline_project.lib.resources import shared
from pipeline_project.lib.settings import env_float, env_int, env_str
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource


class DownloaderResource(dg.ConfigurableResource):
    """Where the identifier list is and how to fetch it; downloads land in `storage`'s inbox and are
    recorded in `warehouse`'s item ledger (nested: the code location's shared resources)."""

    storage: StorageResource
    warehouse: WarehouseResource
    list_path: str = ""
    url_template: str = "{base_url}/{id}/{id}.pdf"
    base_url: str = ""
    slice_size: int = 100
    start_from: int = 0
    max_items: int = 0  # 0 = the whole list
    workers: int = 4
    per_host_concurrency: int = 2
    attempts: int = 5
    timeout_seconds: float = 60.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    max_concurrent_slices: int = 1
    high_watermark: float = 0.0  # 0 = $PIPELINE_DISK_HIGH_WATERMARK (default 0.90)
    inbox_dir: str = ""  # "" = the documents inbox, storage.inbox

    @classmethod
    def from_env(cls, storage: StorageResource, warehouse: WarehouseResource) -> "DownloaderResource":
        return cls(
            storage=storage,
            warehouse=warehouse,
            list_path=env_str("PIPELINE_DOWNLOAD_LIST", ""),
            url_template=env_str("PIPELINE_DOWNLOAD_URL_TEMPLATE", "{base_url}/{id}/{id}.pdf"),
            base_url=env_str("PIPELINE_DOWNLOAD_BASE_URL", ""),
            slice_size=env_int("PIPELINE_DOWNLOAD_SLICE_SIZE", 100),
            start_from=env_int("PIPELINE_DOWNLOAD_START_FROM", 0),
            max_items=env_int("PIPELINE_DOWNLOAD_MAX_ITEMS", 0),
            workers=env_int("PIPELINE_DOWNLOAD_WORKERS", 4),
            per_host_concurrency=env_int("PIPELINE_DOWNLOAD_PER_HOST", 2),
            attempts=env_int("PIPELINE_DOWNLOAD_ATTEMPTS", 5),
            timeout_seconds=env_float("PIPELINE_DOWNLOAD_TIMEOUT", 60.0),
            max_concurrent_slices=env_int("PIPELINE_DOWNLOAD_MAX_CONCURRENT_SLICES", 1),
        )

    @property
    def configured(self) -> bool:
        return bool(self.list_path)

    def watermark(self) -> float:
        return self.high_watermark or high_watermark()

    def inbox(self) -> Path:
        path = Path(self.inbox_dir) if self.inbox_dir else self.storage.inbox
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ledger(self) -> DownloadLedger:
        return DownloadLedger(self.warehouse)

    def disk(self) -> DiskState:
        return disk_state(self.storage.root_path, self.watermark())

    def fetch_settings(self) -> FetchSettings:
        return FetchSettings(
            timeout_seconds=self.timeout_seconds,
            attempts=self.attempts,
            backoff_initial_seconds=self.backoff_initial_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
            per_host_concurrency=self.per_host_concurrency,
        )

    def items(self) -> list[DownloadItem]:
        """The in-scope items of the list. Reads the file: call at run/tick time, never at import."""
        if not self.list_path:
            raise ValueError("no identifier list configured (PIPELINE_DOWNLOAD_LIST)")
        items = load_list(Path(self.list_path), url_template=self.url_template, base_url=self.base_url)
        return in_scope(items, self.start_from, self.max_items)

    def slices(self) -> dict[str, list[DownloadItem]]:
        return slices_of(self.items(), self.slice_size)


@dg.definitions
def resources() -> dg.Definitions:
    common = shared()
    return dg.Definitions(resources={"downloader": DownloaderResource.from_env(common.storage, common.warehouse)})
