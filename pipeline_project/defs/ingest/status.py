"""Status for `pipeline-project status`: disk usage versus the high watermark, and the ledger."""

from __future__ import annotations

from pipeline_project.defs.ingest.backpressure import disk_state
from pipeline_project.defs.ingest.ledger import Ledger
from pipeline_project.lib.settings import data_dir


def disk_status() -> dict:
    """Disk of $PIPELINE_DATA_DIR and whether downloads are paused (cheap: one statvfs)."""
    disk = disk_state(data_dir())
    return {
        "path": disk.path,
        "total_bytes": disk.total_bytes,
        "used_bytes": disk.used_bytes,
        "free_bytes": disk.free_bytes,
        "used_fraction": round(disk.used_fraction, 4),
        "high_watermark": disk.high_watermark,
        "downloads_paused": disk.over_watermark,
        "reason": disk.reason(),
    }


def download_status() -> dict:
    """Ledger counts (done / failed / retry, bytes); empty when nothing was downloaded yet."""
    path = data_dir() / "downloads" / "ledger.sqlite"
    if not path.exists():  # do not create a ledger just by asking for status
        return {}
    return Ledger(path).counts()
