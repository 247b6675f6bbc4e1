"""Cutting OCR batches from the inbox (the OCR dispatcher).

`dispatch` is one tick's decision: dispatch_policy.decide sets the thresholds (latency-first when the
inbox is quiet, throughput-first under load, batches growing as the partition budget fills) and
plan_batches cuts the waiting files with them. The sensor and benchmarks/dispatch_bench.py both call it.
Claiming a batch moves its files out of the inbox into batches/<id>/incoming/ after writing the
batch's manifest; the manifest is the batch's definition and survives any crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline_project.defs.documents.dispatch_policy import (Decision, DispatchHistory, DispatchSettings, decide,
                                                             history_seconds)
from pipeline_project.defs.documents.intake import count_pages
from pipeline_project.lib.atomic import read_json, write_json_atomic

# Names that mean "still being written" by common downloaders and copy tools.
_PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download")


@dataclass(frozen=True)
class WaitingFile:
    path: str  # relative to the inbox
    size: int
    mtime: float
    pages: int
    first_seen: float


@dataclass(frozen=True)
class BatchPolicy:
    min_pages: int = 1000
    max_wait_seconds: float = 10.0
    min_file_age_seconds: float = 1.0  # a file modified more recently may still be being copied


def is_candidate(path: Path, inbox: Path) -> bool:
    rel = path.relative_to(inbox)
    if any(part.startswith(".") for part in rel.parts):
        return False
    # other domains' inboxes: the crawl's item files (web_items_sensor batches them, defs/web) and drawing
    # sets waiting to be compared (drawings_sensor, defs/drawings)
    if rel.parts[0] in ("web", "drawings"):
        return False
    return path.is_file() and not path.name.lower().endswith(_PARTIAL_SUFFIXES)


def scan_inbox(inbox: Path, known: dict[str, dict], policy: BatchPolicy, now: float,
               count_budget_seconds: float | None = None) -> list[WaitingFile]:
    """Files ready for batching, oldest first. `known` caches page counts and first-seen times
    between sensor ticks (the sensor's cursor), so each PDF is opened once.

    New files are opened oldest first for at most `count_budget_seconds` (at least one per call): a
    sensor tick has 60 s, and 100,000 PDFs dropped at once take minutes to count, so the rest wait for
    the next tick instead of the tick timing out with nothing saved."""
    found: list[WaitingFile] = []
    new: list[tuple[float, str, Path, os.stat_result]] = []
    for path in inbox.rglob("*"):
        if not is_candidate(path, inbox):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if now - stat.st_mtime < policy.min_file_age_seconds:
            continue
        rel = str(path.relative_to(inbox))
        cached = known.get(rel)
        if cached and cached["size"] == stat.st_size and cached["mtime"] == stat.st_mtime:
            found.append(WaitingFile(rel, stat.st_size, stat.st_mtime, cached["pages"], cached["first_seen"]))
        else:
            new.append((stat.st_mtime, rel, path, stat))
    started = time.monotonic()
    for counted, (_, rel, path, stat) in enumerate(sorted(new, key=lambda n: (n[0], n[1]))):
        if counted and count_budget_seconds is not None and time.monotonic() - started > count_budget_seconds:
            break
        first_seen = (known.get(rel) or {}).get("first_seen", now)
        found.append(WaitingFile(rel, stat.st_size, stat.st_mtime, count_pages(path), first_seen))
    found.sort(key=lambda f: (f.first_seen, f.mtime, f.path))
    return found


def plan_batches(waiting: list[WaitingFile], policy: BatchPolicy, now: float, idle: bool) -> list[list[WaitingFile]]:
    """Full batches of ≥ min_pages first. A remainder joins the last full batch cut in the same
    tick (no tiny tail batch queued behind the big ones); alone, it goes only once it has waited
    max_wait_seconds or nothing else is running."""
    batches: list[list[WaitingFile]] = []
    current: list[WaitingFile] = []
    pages = 0
    for item in waiting:
        current.append(item)
        pages += item.pages
        if pages >= policy.min_pages:
            batches.append(current)
            current, pages = [], 0
    if current and batches:
        batches[-1].extend(current)
    elif current:
        oldest = min(f.first_seen for f in current)
        if idle or now - oldest >= policy.max_wait_seconds:
            batches.append(current)
    return batches


def dispatch(waiting: list[WaitingFile], settings: DispatchSettings, history: DispatchHistory, *, now: float,
             slot_free: bool, partitions_used: int, min_file_age_seconds: float = 1.0,
             ) -> tuple[list[list[WaitingFile]], DispatchHistory, Decision]:
    """One tick of the dispatcher: the batches to cut now, the updated history, and why."""
    history = history.with_arrivals([f.first_seen for f in waiting], now, keep=history_seconds(settings))
    newest = max((f.first_seen for f in waiting), default=None)
    decision = decide(settings, history, now=now, newest_arrival=newest, slot_free=slot_free,
                      partitions_used=partitions_used)
    policy = BatchPolicy(min_pages=decision.min_pages, max_wait_seconds=decision.wait_seconds,
                         min_file_age_seconds=min_file_age_seconds)
    if decision.cut_all_now or decision.cut_newer_than is None:
        batches = plan_batches(waiting, policy, now, idle=decision.cut_all_now)
        return batches, history.with_latency_cut(now) if decision.cut_all_now and batches else history, decision
    # newcomers after a quiet spell go now, on their own; older files keep their throughput-first wait
    newcomers = [f for f in waiting if f.first_seen >= decision.cut_newer_than]
    older = [f for f in waiting if f.first_seen < decision.cut_newer_than]
    batches = plan_batches(older, policy, now, idle=False) + plan_batches(newcomers, policy, now, idle=True)
    return batches, history.with_latency_cut(now) if newcomers else history, decision


def new_batch_id(files: list[WaitingFile], now: float) -> str:
    stamp = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha1("\n".join(f.path for f in files).encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return f"{stamp}-{digest}"


def slot_name(index: int, rel_path: str) -> str:
    """Unique name inside a batch: files from different inbox sub-folders may share a name."""
    return f"{index:05d}-{Path(rel_path).name}"


def claim_batch(batches_dir: Path, inbox: Path, files: list[WaitingFile], now: float | None = None) -> str:
    """Write the manifest, then move the files in. Safe to repeat after a crash (finish_claim)."""
    now = time.time() if now is None else now
    batch_id = new_batch_id(files, now)
    manifest = {
        "batch_id": batch_id,
        "created": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(),
        "pages": sum(f.pages for f in files),
        "files": [dict(asdict(f), slot=slot_name(i, f.path)) for i, f in enumerate(files)],
    }
    write_json_atomic(batches_dir / batch_id / "manifest.json", manifest)
    finish_claim(batches_dir / batch_id, inbox)
    return batch_id


def finish_claim(batch_dir: Path, inbox: Path) -> None:
    """Move any manifest file still in the inbox into the batch (idempotent)."""
    manifest = read_manifest(batch_dir)
    incoming = batch_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for entry in manifest["files"]:
        src = inbox / entry["path"]
        dest = incoming / entry["slot"]
        if src.exists() and not dest.exists():
            try:
                os.replace(src, dest)
            except OSError:  # inbox on another filesystem
                shutil.move(str(src), str(dest))


def read_manifest(batch_dir: Path) -> dict:
    manifest = read_json(batch_dir / "manifest.json")
    if manifest is None:
        raise FileNotFoundError(f"batch {batch_dir.name} has no manifest.json")
    return manifest


def batch_ids_on_disk(batches_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in batches_dir.glob("*/manifest.json"))
