"""Cutting batches of item files from <inbox>/web (the crawl's counterpart of the PDF dispatcher).

A batch is a partition of the documents chain (`ocr_batches`) whose manifest says
`source_type: web`; its id sorts by time like every batch (`<UTC stamp>-web-<hash>`). Claiming
writes the manifest first, then moves the item files into batches/<id>/incoming/, exactly as for
PDFs, so the documents sensor's crash repair works for web batches too.

Streaming (PIPELINE_MODE=streaming): whatever is waiting is cut when nothing is being processed, or
once `max_items` wait, or once the oldest has waited `max_wait_seconds`: the first pages are
searchable seconds after the crawl starts and batches grow while the embedder is busy.
Batch (PIPELINE_MODE=batch): nothing is cut while a crawl is still running; then everything is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.defs.web.config import BATCH, STREAMING
from pipeline_project.defs.web.items import ITEM_PREFIX
from pipeline_project.lib.atomic import write_json_atomic
from pipeline_project.lib.settings import env_float, env_int

WEB_FOLDER = "web"  # <inbox>/web: item files; the PDF sensor leaves this folder alone


@dataclass(frozen=True)
class WebBatchPolicy:
    max_items: int = 200  # one batch at most; more waiting → several batches
    min_items: int = 50  # cut at once from this many, even while busy
    max_wait_seconds: float = 5.0
    mode: str = STREAMING

    @classmethod
    def from_env(cls, mode: str) -> "WebBatchPolicy":
        return cls(max_items=env_int("PIPELINE_WEB_BATCH_MAX_ITEMS", 200),
                   min_items=env_int("PIPELINE_WEB_BATCH_MIN_ITEMS", 50),
                   max_wait_seconds=env_float("PIPELINE_WEB_BATCH_MAX_WAIT_SECONDS", 5.0), mode=mode)


def items_dir(inbox: Path) -> Path:
    path = Path(inbox) / WEB_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def waiting_items(inbox: Path) -> list[Path]:
    """Item files ready to claim, oldest first (temp files of an item being written are skipped)."""
    found = []
    for path in items_dir(inbox).glob(f"{ITEM_PREFIX}*.json"):
        try:
            found.append((path.stat().st_mtime, path.name, path))
        except FileNotFoundError:
            continue
    return [p for _, _, p in sorted(found)]


def plan(waiting: list[Path], policy: WebBatchPolicy, *, busy: bool, crawling: bool, now: float | None = None) -> list[list[Path]]:
    """Which waiting items to claim now, as batches of at most max_items."""
    if not waiting:
        return []
    if policy.mode == BATCH and crawling:
        return []
    if policy.mode == STREAMING and busy and crawling and len(waiting) < policy.min_items:
        now = time.time() if now is None else now
        oldest = min(p.stat().st_mtime for p in waiting if p.exists()) if waiting else now
        if now - oldest < policy.max_wait_seconds:
            return []
    # while the crawl runs, batches stay small so the next one starts soon (and, in `crawl run`, takes
    # every core as soon as the crawl has ended); afterwards they may be large
    size = policy.min_items if crawling and policy.mode == STREAMING else policy.max_items
    size = max(1, min(size, policy.max_items))
    return [waiting[i:i + size] for i in range(0, len(waiting), size)]


def new_batch_id(files: list[Path], now: float) -> str:
    stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]
    digest = hashlib.sha1("\n".join(p.name for p in files).encode()).hexdigest()[:6]
    return f"{stamp}-web-{digest}"


def claim(batches_dir: Path, inbox: Path, files: list[Path], now: float | None = None) -> str:
    """Write the manifest, then move the items in (documents' finish_claim does the moving, and
    repairs a claim interrupted between the two)."""
    from pipeline_project.defs.documents.batching import finish_claim

    now = time.time() if now is None else now
    batch_id = new_batch_id(files, now)
    entries = []
    for index, path in enumerate(files):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        entries.append({"path": f"{WEB_FOLDER}/{path.name}", "slot": f"{index:05d}-{path.name}", "size": stat.st_size,
                        "mtime": stat.st_mtime, "pages": 1, "first_seen": stat.st_mtime})
    manifest = {"batch_id": batch_id, "source_type": "web",
                "created": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(),
                "pages": len(entries), "files": entries}
    write_json_atomic(batches_dir / batch_id / "manifest.json", manifest)
    finish_claim(batches_dir / batch_id, inbox)
    return batch_id


def is_web_batch_id(batch_id: str) -> bool:
    return "-web-" in batch_id
