"""The download queue: open-access PDFs of cited works, fetched into the documents inbox.

queue_batch (`to_download_references`): every matched reference of the batch with an open-access
    PDF link becomes one work to fetch (one per DOI or OpenAlex id, however often it is cited),
    unless the corpus has it already (same DOI), another batch queued it first, or it lies beyond
    the citation depth (PIPELINE_BIB_CITATION_DEPTH, default 1: the works your documents cite are
    fetched, not the works those cite).
download_batch (`downloaded_references`): the ingest domain's downloader fetches the queued works
    (resumable, retried, verified) into a staging folder; each file is then checked: not a PDF (a
    publisher's landing page) → quarantined with the reason; same content as a document already in
    the corpus → recorded and not added again; otherwise moved into the inbox, where the documents
    pipeline picks it up and this domain later extracts its own references (depth + 1).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline_project.defs.bibliography import warehouse_io as io
from pipeline_project.defs.bibliography.tables import work_key
from pipeline_project.lib import ledger
from pipeline_project.lib.quarantine import PIPELINE, quarantine_file

QUEUED, IN_CORPUS, BEYOND_DEPTH, ELSEWHERE = "queued", "in corpus (same DOI)", "beyond citation depth", "queued by"
FETCHED = "fetched already"


@dataclass
class QueueReport:
    decisions: Counter = field(default_factory=Counter)


def queue_batch(warehouse, batch_id: str, max_depth: int) -> QueueReport:
    matched = io.matched_with_pdf(warehouse, batch_id)
    corpus = io.corpus_dois(warehouse)
    keys = [work_key(d, o) for d, o in zip(matched["doi"], matched["openalex_id"])] if len(matched) else []
    elsewhere = io.queued_elsewhere(warehouse, [k for k in keys if k], batch_id)
    fetched = io.fetched_keys(warehouse, [k for k in keys if k])
    rows, entries, report, seen = [], [], QueueReport(), set()
    for key, row in zip(keys, matched.to_dict("records")):
        if not key or key in seen:
            continue
        seen.add(key)
        depth = int(row["citing_depth"]) + 1
        if depth > max_depth:
            decision = BEYOND_DEPTH
        elif key in fetched:
            decision = FETCHED
        elif row["doi"] and row["doi"].lower() in corpus:
            decision = IN_CORPUS
        elif key in elsewhere:
            decision = f"{ELSEWHERE} batch {elsewhere[key]}"
        else:
            decision = QUEUED
        report.decisions[decision.split(" batch")[0]] += 1
        rows.append({"work_key": key, "doi": row["doi"], "openalex_id": row["openalex_id"], "pdf_url": row["pdf_url"],
                     "title": row["title"], "batch_id": batch_id, "ref_id": row["ref_id"], "depth": depth,
                     "decision": decision, "queued_at": io.now()})
        if decision == QUEUED:
            entries.append(ledger.Entry(io.DOMAIN, key, io.DOWNLOAD, ledger.PENDING, batch_id, label=row["pdf_url"],
                                        detail={"url": row["pdf_url"], "depth": depth}))
        elif decision not in (FETCHED,) and not decision.startswith(ELSEWHERE):
            entries.append(ledger.Entry(io.DOMAIN, key, io.DOWNLOAD, ledger.DONE, batch_id, label=row["pdf_url"],
                                        detail={"decision": decision, "depth": depth}))
    io.save_queue(warehouse, batch_id, pd.DataFrame(rows), entries)
    return report


@dataclass
class DownloadReport:
    outcomes: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    paused: str = ""
    bytes: int = 0
    seconds: float = 0.0


def _file_name(row: dict) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", (row["doi"] or row["openalex_id"] or "work")).strip("._")
    return f"cited-{stem[:80]}.pdf"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_pdf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return b"%PDF-" in fh.read(1024)


def staging_folder(storage) -> Path:
    return storage.folder("bibliography", "downloads")


def download_batch(warehouse, storage, batch_id: str, *, workers: int = 4, fetch_settings=None,
                   log=lambda m: None, progress=None) -> DownloadReport:
    """Fetch the batch's queued works with the ingest downloader, then file each one."""
    from pipeline_project.defs.ingest.backpressure import disk_state
    from pipeline_project.defs.ingest.download_ledger import DownloadLedger
    from pipeline_project.defs.ingest.downloader import FetchSettings, SliceDownloader
    from pipeline_project.defs.ingest.items import DownloadItem

    started = time.monotonic()
    report = DownloadReport()
    queue = io.queued_downloads(warehouse, batch_id).to_dict("records")
    staging = staging_folder(storage)
    items = [DownloadItem(i, row["work_key"], row["pdf_url"], _file_name(row)) for i, row in enumerate(queue)]
    if progress:
        progress.queued("download", len(items))

    def should_pause() -> str:
        disk = disk_state(storage.root_path)
        return disk.reason() if disk.over_watermark else ""

    downloader = SliceDownloader(inbox=staging, ledger=DownloadLedger(warehouse, io.DOMAIN, io.DOWNLOAD),
                                 settings=fetch_settings or FetchSettings(attempts=3, backoff_max_seconds=10.0),
                                 workers=workers, should_pause=should_pause, log=log)
    sliced = downloader.run(batch_id, items)
    report.paused = sliced.paused_reason
    report.failures = dict(sliced.failures)
    report.outcomes["failed"] += sliced.failed_permanent + sliced.failed_transient
    for row, item in zip(queue, items):
        path = staging / item.file_name
        if path.exists():
            outcome, size = _file_away(warehouse, storage, batch_id, row, path)
            report.outcomes[outcome] += 1
            report.bytes += size
            if progress:
                progress.finished("download", outcome)
        elif progress:
            reason = report.failures.get(item.item_id) or report.paused or "not fetched"
            progress.finished("download", "failed" if item.item_id in report.failures else "not started",
                              re.sub(r" for https?://\S+", "", reason))
    report.seconds = time.monotonic() - started
    return report


def _file_away(warehouse, storage, batch_id: str, row: dict, path: Path) -> tuple[str, int]:
    """Quarantine, drop as a duplicate, or move into the inbox; record it."""
    size, sha = path.stat().st_size, _sha256(path)
    record = {"work_key": row["work_key"], "doi": row["doi"], "batch_id": batch_id, "url": row["pdf_url"],
              "file_name": path.name, "sha256": sha, "bytes": size, "depth": int(row["depth"]),
              "downloaded_at": io.now(), "detail": None}
    entry = ledger.Entry(io.DOMAIN, row["work_key"], io.DOWNLOAD, ledger.DONE, batch_id, label=row["pdf_url"])
    if not _is_pdf(path):
        reason = "not a PDF: the link gave an HTML page (often a publisher's landing or login page)" \
            if path.read_bytes()[:200].lstrip().startswith(b"<") else "not a PDF: no %PDF header in the file"
        moved = quarantine_file(path, root=storage.root_path, domain=io.DOMAIN, group=batch_id, name=path.name,
                                reason=f"{reason} ({row['pdf_url']})", owner=PIPELINE, item_id=row["work_key"])
        record.update(outcome="not a PDF (quarantined)", detail=reason)
        entry = ledger.Entry(io.DOMAIN, row["work_key"], io.DOWNLOAD, ledger.DEAD_LETTER, batch_id, error=reason,
                             label=row["pdf_url"], quarantine_path=str(moved.path))
    elif io.known_content(warehouse, sha):
        path.unlink()
        record["outcome"] = "in corpus (same content)"
    else:
        target = storage.inbox / f"{path.stem}-{sha[:8]}.pdf"
        os.replace(path, target)  # atomic: the intake sensor never sees half a file
        record.update(outcome="in inbox", detail=str(target))
    entry.detail = {"outcome": record["outcome"], "sha256": sha, "bytes": size, "depth": record["depth"]}
    io.save_download(warehouse, record, [entry])
    return record["outcome"], size
