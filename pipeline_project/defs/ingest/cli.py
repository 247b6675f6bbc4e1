"""`pipeline-project downloads status`, and the ingest part of `pipeline-project status`: disk usage
versus the high watermark, download counts from the item ledger, and what would free space."""

from __future__ import annotations

import argparse
import json

from pipeline_project.defs.ingest.backpressure import disk_state
from pipeline_project.defs.ingest.download_ledger import DownloadLedger
from pipeline_project.lib.resources import Shared, shared


def _tree_bytes(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def disk_status(common: Shared) -> dict:
    """Disk of the storage root, whether downloads are paused, and if so which setting frees space."""
    disk = disk_state(common.storage.root_path)
    out = {"path": disk.path, "total_bytes": disk.total_bytes, "used_bytes": disk.used_bytes,
           "free_bytes": disk.free_bytes, "used_fraction": round(disk.used_fraction, 4),
           "high_watermark": disk.high_watermark, "downloads_paused": disk.over_watermark,
           "reason": disk.reason(), "delete_source": common.storage.delete_source, "advice": ""}
    if disk.over_watermark:
        stored = _tree_bytes(common.storage.root_path / "store" / "pdfs")
        if common.storage.delete_source != "after_ingest":
            out["advice"] = (f"set PIPELINE_DELETE_SOURCE=after_ingest: stored PDFs ({stored / 2**20:.0f} MiB) are "
                             "then deleted once their text is verified in the warehouse, and downloads resume; "
                             "or raise PIPELINE_DISK_HIGH_WATERMARK")
        else:
            out["advice"] = ("downloads resume as batches are ingested and their PDFs deleted; if nothing is "
                             "being ingested, free space on the disk or raise PIPELINE_DISK_HIGH_WATERMARK")
    return out


def status(common: Shared) -> dict:
    disk = disk_status(common)
    downloads = DownloadLedger(common.warehouse).counts()
    lines = [f"disk         : {disk['reason']}"]
    if disk["advice"]:
        lines.append(f"to free space: {disk['advice']}")
    if any(downloads.get(k) for k in ("done", "failed", "retry")):
        lines.append(f"downloads    : {downloads['done']} done ({downloads['bytes_done'] / 1e6:.1f} MB), "
                     f"{downloads['retry']} to retry, {downloads['failed']} failed permanently")
    return {"disk": disk, "downloads": downloads, "lines": lines}


def cmd_status(args: argparse.Namespace) -> int:
    result = status(shared())
    print(json.dumps(result, indent=2) if args.json else "\n".join(result["lines"]))
    return 0


def register(subparsers) -> None:
    group = subparsers.add_parser("downloads", help="the downloader feeding the inbox (disk, counts)")
    sub = group.add_subparsers(dest="downloads_command", required=True, metavar="COMMAND")
    p = sub.add_parser("status", help="disk usage versus the watermark, download counts, what frees space")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)
