"""The sensor that keeps downloads flowing: adds slice partitions, requests incomplete slices, and
pauses (SkipReason) while the disk is over its high watermark."""

import os

import dagster as dg

from pipeline_project.defs.ingest.download_ledger import DONE, FAILED
from pipeline_project.defs.ingest.jobs import download_slice_job
from pipeline_project.defs.ingest.partitions import DOWNLOAD_SLICES
from pipeline_project.defs.ingest.resources import DownloaderResource
from pipeline_project.lib import runs


def incomplete_slices(downloader: DownloaderResource, slices: dict) -> list[str]:
    """Slices with an item neither done nor permanently failed, in list order (the ledger decides,
    not materialization status: a paused slice is materialized yet incomplete)."""
    ids = [it.item_id for items in slices.values() for it in items]
    statuses = downloader.ledger().statuses(ids)
    return [key for key, items in sorted(slices.items())
            if any(statuses.get(it.item_id) not in (DONE, FAILED) for it in items)]


def _default_status() -> dg.DefaultSensorStatus:
    # Running by default only where a list is configured: a fresh checkout must not try to download.
    configured = bool(os.environ.get("PIPELINE_DOWNLOAD_LIST"))
    return dg.DefaultSensorStatus.RUNNING if configured else dg.DefaultSensorStatus.STOPPED


@dg.sensor(job=download_slice_job, minimum_interval_seconds=30, default_status=_default_status(),
           description="Adds the identifier list's slices as partitions and requests the incomplete ones, "
           "at most PIPELINE_DOWNLOAD_MAX_CONCURRENT_SLICES at a time; skips while the disk is over "
           "PIPELINE_DISK_HIGH_WATERMARK.")
def download_slices_sensor(context: dg.SensorEvaluationContext, downloader: DownloaderResource):
    if not downloader.configured:
        return dg.SkipReason("no identifier list configured: set PIPELINE_DOWNLOAD_LIST to start downloading")
    disk = downloader.disk()
    if disk.over_watermark:
        return dg.SkipReason(disk.reason())
    slices = downloader.slices()
    known = set(context.instance.get_dynamic_partitions(DOWNLOAD_SLICES))
    new_keys = sorted(set(slices) - known)
    todo = incomplete_slices(downloader, slices)
    busy = runs.partitions_in_flight(context.instance, download_slice_job.name)
    room = max(0, downloader.max_concurrent_slices - len(busy))
    wanted = [k for k in todo if k not in busy][:room]
    # The run key repeats while a slice's run is queued or running, so a second tick never queues
    # it twice; it changes once that run ends, so a paused slice is requested again later.
    requests = [dg.RunRequest(partition_key=k, run_key=runs.attempt_run_key(context.instance, download_slice_job.name, k),
                              tags={"pipeline_project/disk_used": f"{disk.used_fraction:.3f}"})
                for k in wanted]
    if not requests and not new_keys:
        if not todo:
            return dg.SkipReason(f"all {len(slices)} slices downloaded ({disk.reason()})")
        return dg.SkipReason(f"{len(busy)} slice run(s) in flight, max {downloader.max_concurrent_slices}; "
                             f"{len(todo)} slices incomplete")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(DOWNLOAD_SLICES, new_keys)] if new_keys else [],
    )
