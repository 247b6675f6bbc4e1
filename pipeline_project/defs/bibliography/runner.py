"""The bibliography pipeline in this process, for `pipeline-project bib process-pdf|process-folder|watch-folder`.

Same assets, resources and Dagster instance as the daemon (the UI shows these runs), stage by stage:

    inbox ──documents (drain: OCR → pages → chunks → embeddings)──▶ batch queue
          ──no_metadata (extraction workers)──▶ queue (--queue-size: backpressure)
          ──with_metadata → to_download_references → downloaded_references──▶ inbox (cited PDFs)

Concurrent (default): one thread per stage, so batch N+1 is OCR'd and extracted while batch N is
enriched; each bibliography stage runs in worker processes of its own, started once for the whole
run (stage_process.py says why), and enrichment runs its requests concurrently within each
service's limits. Sequential: one batch at a
time through every stage, in this process, one reference at a time (the old behaviour, for comparison).
Cited PDFs fetched into the inbox go round again, up to the citation depth.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dagster as dg

DONE = object()
_RUNNING: "weakref.WeakSet[LocalPipeline]" = weakref.WeakSet()


def stop_all() -> None:
    """Ask every pipeline running in this process to finish its current round and stop (Ctrl-C)."""
    for pipeline in list(_RUNNING):
        pipeline.stop.set()


@dataclass
class RunOptions:
    extraction_workers: int = 1
    enrichment_workers: int = 8
    download_workers: int = 4
    queue_size: int = 8
    concurrent: bool = True


@dataclass
class RunReport:
    files_added: int = 0
    batches: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # batch: stage that failed
    seconds: float = 0.0


def pdfs_in(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() == ".pdf"
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def add_to_inbox(paths: list[Path], inbox: Path) -> list[Path]:
    """Copy the user's PDFs into the inbox (the originals stay where they are), atomically."""
    added = []
    partial = inbox / ".partial"
    partial.mkdir(parents=True, exist_ok=True)
    for path in paths:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8]
        target = inbox / f"{Path(path).stem}-{digest}.pdf"
        if target.exists():
            continue  # the same file is already waiting
        tmp = partial / target.name
        shutil.copyfile(path, tmp)
        past = time.time() - 5  # a finished copy: the batcher need not wait for it to settle
        os.utime(tmp, (past, past))
        os.replace(tmp, target)
        added.append(target)
    return added


class LocalPipeline:
    def __init__(self, instance: dg.DagsterInstance, resources: dict, options: RunOptions,
                 log: Callable[[str], None] = print, progress=None, settings: dict | None = None):
        self.instance, self.resources, self.options, self.log = instance, resources, options, log
        self.settings = dict(settings or {})  # environment for the stage processes (workers, ...)
        self.progress = progress
        self.report = RunReport()
        self.stop = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._extract: queue.Queue = queue.Queue(maxsize=max(1, options.queue_size))
        self._enrich: queue.Queue = queue.Queue(maxsize=max(1, options.queue_size))
        self._stage_workers: dict = {}  # stage → its worker processes (concurrent mode)
        _RUNNING.add(self)

    # -- one stage for one batch ---------------------------------------------------------------------
    def _materialize(self, stage: str, batch_id: str) -> bool:
        from pipeline_project.defs.bibliography import assets as bib_assets
        from pipeline_project.defs.bibliography.stage_process import STAGES

        if stage in self._stage_workers:
            ok = self._stage_workers[stage].run(batch_id)
        else:
            ok = dg.materialize([getattr(bib_assets, name) for name in STAGES[stage]], partition_key=batch_id,
                                resources=self.resources, instance=self.instance, raise_on_error=False,
                                tags={"ocr_batch": batch_id, "bibliography/stage": stage},
                                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}).success
        if not ok:
            self.report.failed.append(f"{batch_id}: {stage}")
            self.log(f"batch {batch_id}: {stage} failed (see the run in the Dagster UI)")
        return ok

    def extract(self, batch_id: str) -> bool:
        return self._materialize("extraction", batch_id)

    def enrich(self, batch_id: str) -> bool:
        return self._materialize("enrichment and downloads", batch_id)

    def documents(self) -> list[str]:
        """OCR everything waiting in the inbox (the documents domain's own drain); its batches."""
        from pipeline_project.defs.documents.drain import drain

        inbox = self.resources["storage"].inbox
        waiting = len(pdfs_in(inbox))
        if self.progress and waiting:
            self.progress.queued("documents", waiting)  # counted in files, as the user dropped them
        report = drain(self.instance, self.resources, log=lambda m: None)
        self.report.failed += [f"{b}: documents" for b in report.failed]
        if self.progress:
            for _ in range(max(0, waiting - len(pdfs_in(inbox)))):  # taken in: stored, or quarantined with a reason
                self.progress.finished("documents", "taken in")
        self.report.batches += report.batches
        return report.batches

    def _inbox_waiting(self) -> bool:
        return bool(pdfs_in(self.resources["storage"].inbox))

    # -- sequential ----------------------------------------------------------------------------------
    def run_sequential(self, feed: Callable[[], bool] = lambda: False) -> RunReport:
        started = time.monotonic()
        while not self.stop.is_set():
            keep = feed()
            batches = self.documents()
            if not batches and not keep:
                break
            if not batches:
                self.stop.wait(0.5)
            for batch_id in batches:
                if self.extract(batch_id):
                    self.enrich(batch_id)
        self.report.seconds = time.monotonic() - started
        return self.report

    # -- concurrent ----------------------------------------------------------------------------------
    def _pending(self, delta: int) -> None:
        with self._lock:
            self._busy += delta

    def _work(self, inbox: queue.Queue, step: Callable[[str], bool], outbox: queue.Queue | None) -> None:
        """A stage's worker: a batch counts as pending from the moment it is queued for extraction
        until it leaves the last stage, so "idle" never misses a batch between two queues."""
        while True:
            batch_id = inbox.get()
            if batch_id is DONE:
                inbox.put(DONE)  # let the other workers of this stage see it too
                return
            ok = False
            try:
                ok = step(batch_id)
            finally:
                if ok and outbox is not None:
                    outbox.put(batch_id)  # blocks while the next stage's queue is full: backpressure
                else:
                    self._pending(-1)

    def _idle(self) -> bool:
        with self._lock:
            busy = self._busy
        return busy == 0 and not self._inbox_waiting()

    def run_concurrent(self, feed: Callable[[], bool] = lambda: False) -> RunReport:
        """`feed` is called every round (watch-folder adds new files there); True keeps the run going."""
        from pipeline_project.defs.bibliography.stage_process import StageWorkers

        started = time.monotonic()
        self._stage_workers = {"extraction": StageWorkers("extraction", self.settings, self.options.extraction_workers),
                               "enrichment and downloads": StageWorkers("enrichment and downloads", self.settings)}
        try:
            self._feed_stages(feed)
        finally:
            for stage in self._stage_workers.values():
                stage.close()
            self._stage_workers = {}
        self.report.seconds = time.monotonic() - started
        return self.report

    def _feed_stages(self, feed: Callable[[], bool]) -> None:
        workers = [threading.Thread(target=self._work, args=(self._extract, self.extract, self._enrich),
                                    name=f"extract-{i}", daemon=True)
                   for i in range(max(1, self.options.extraction_workers))]
        workers.append(threading.Thread(target=self._work, args=(self._enrich, self.enrich, None),
                                        name="enrich", daemon=True))
        for thread in workers:
            thread.start()
        while not self.stop.is_set():
            keep = feed()
            for batch_id in self.documents():
                self._pending(+1)
                self._extract.put(batch_id)
            if self._idle() and not keep:
                break
            self.stop.wait(0.5)
        self._extract.put(DONE)
        for thread in workers[:-1]:
            thread.join()
        self._enrich.put(DONE)
        workers[-1].join()

    def run(self, feed: Callable[[], bool] = lambda: False) -> RunReport:
        if self.options.concurrent:
            return self.run_concurrent(feed)
        return self.run_sequential(feed)
