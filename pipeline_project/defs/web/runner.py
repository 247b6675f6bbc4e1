"""`pipeline-project crawl run`: crawl a site and process its pages here, without the daemon.

The crawl runs in its own process. This process cuts the saved pages into batches and runs each
through the same assets the daemon would (documents → chunks → embeddings, and graph_sink when the
graph is on), on the project's Dagster instance, so the UI shows what it did. A thread prints the
progress line every few seconds. Streaming processes pages while the crawl runs; batch waits for
the crawl to end first (for comparison). It returns once the crawl has ended and every saved page
is embedded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from pipeline_project.defs.web.batching import WebBatchPolicy, claim, items_dir, plan, waiting_items
from pipeline_project.defs.web.config import CrawlConfig, storage_mode
from pipeline_project.defs.web.crawl_log import read_run
from pipeline_project.defs.web.crawl_process import start_crawl, wait_until_started
from pipeline_project.defs.web.progress import Progress, progress


@dataclass
class CrawlReport:
    run_dir: str = ""
    batches: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    progress: Progress = field(default_factory=Progress)
    crawl_counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    crawl_seconds: float = 0.0
    first_batch_done_seconds: float | None = None  # from the crawl's start to the first embedded batch
    finish_reason: str = ""


def _assets(with_graph: bool) -> list:
    from pipeline_project.defs.documents import assets as documents

    assets = [documents.raw_pdfs, documents.ocr_jsonl, documents.documents, documents.chunks, documents.embeddings]
    if with_graph:
        from pipeline_project.defs.web.assets import graph_sink

        assets.append(graph_sink)
    return assets


def _materialize(instance, assets, resources: dict, batch_id: str):
    import dagster as dg

    return dg.materialize(assets, partition_key=batch_id, resources=resources, instance=instance,
                          raise_on_error=False, tags={"ocr_batch": batch_id, "source_type": "web"},
                          run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})


def _crawl_seconds(state: dict, started_wall: float) -> float:
    """From this command's start to the crawl process's end (its state file says when)."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(state["finished_at"]).timestamp() - started_wall
    except (KeyError, TypeError, ValueError):
        return 0.0


def _share_cores(crawling: bool, embedder) -> None:
    """While the crawl process runs, the embedder takes one thread: torch threads that cannot all get
    a core wait for each other at every step (measured: the crawl ran 1.5× slower and the overlap
    gained nothing); once the crawl has ended the embedder takes every core again."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1 if crawling else embedder.torch_threads())


class _Ticker:
    """Prints the progress line every `every` seconds from a thread, and once more at the end."""

    def __init__(self, read: Callable[[], Progress], out: Callable[[str], None], every: float):
        self.read, self.out, self.every = read, out, every
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="crawl-progress", daemon=True)

    def _run(self):
        while not self.stop_event.wait(self.every):
            try:
                self.out(self.read().line)
            except Exception as exc:  # the warehouse may be busy for a moment; say so and go on
                self.out(f"(progress unavailable: {type(exc).__name__})")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()


def run_crawl(config: CrawlConfig, *, instance, resources: dict, mode: str, with_graph: bool = False,
              out: Callable[[str], None] = print, progress_every: float = 2.0,
              on_batch: Callable[[str, float], None] | None = None) -> CrawlReport:
    from pipeline_project.defs.documents.partitions import ocr_batches
    from pipeline_project.defs.web.crawl_ledger import record_crawl

    storage_mode()
    storage, warehouse, model = resources["storage"], resources["warehouse"], resources["embedder"].model
    policy = WebBatchPolicy.from_env(mode)
    assets = _assets(with_graph)
    report = CrawlReport()
    started, started_wall = time.monotonic(), time.time()
    process = start_crawl(config, storage.root_path, items_dir(storage.inbox), storage.inbox / "web-pdfs" / config.name)
    report.run_dir = str(process.run_dir)
    wait_until_started(process.run_dir)
    out(f"crawling {', '.join(config.start_urls)} in process {process.pid} ({mode}; up to {config.page_limit} pages)")
    with _Ticker(lambda: progress(warehouse, read_run(process.run_dir), model), out, progress_every):
        while True:
            crawling = process.running()
            # one batch per turn: its size and the embedder's threads follow whether the crawl still runs
            todo = plan(waiting_items(storage.inbox), policy, busy=False, crawling=crawling)[:1]
            for files in todo:
                _share_cores(crawling, resources["embedder"])
                batch_id = claim(storage.batches, storage.inbox, files)
                instance.add_dynamic_partitions(ocr_batches.name, [batch_id])
                result = _materialize(instance, assets, resources, batch_id)
                (report.batches if result.success else report.failed).append(batch_id)
                if report.first_batch_done_seconds is None and result.success:
                    report.first_batch_done_seconds = time.monotonic() - started
                if on_batch:
                    on_batch(batch_id, time.monotonic() - started)
            if not crawling and not waiting_items(storage.inbox):
                break
            if not todo:
                time.sleep(0.2)
    process.wait()
    run = read_run(process.run_dir)
    report.crawl_counts = record_crawl(warehouse, run)
    report.finish_reason = run.state.get("finish_reason") or ""
    report.crawl_seconds = _crawl_seconds(run.state, started_wall)
    report.progress = progress(warehouse, run, model)
    report.seconds = time.monotonic() - started
    out(report.progress.line)
    return report
