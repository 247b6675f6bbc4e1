"""The bibliography stages in processes of their own (the CLI's concurrent mode).

Dagster runs started from several threads of one process can deadlock: every run's setup
reconfigures Python logging (`logging.config.dictConfig`, which flushes every handler under the
logging lock) while another run's event handler holds a handler lock and asks for that logging lock.
So the CLI gives each stage its own worker process(es) — as the daemon runs each run in a process —
which also lets extraction use a core while enrichment waits on the network. A stage's process is
started once and runs that stage for batch after batch (starting Python, Dagster and the project
costs seconds; the services' throttles also keep what they learnt). Progress events travel back to
the parent's dashboard through a queue.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipeline_project.defs.bibliography import progress

STAGES = {"extraction": ("no_metadata",),
          "enrichment and downloads": ("with_metadata", "to_download_references", "downloaded_references")}


class Forwarder:
    """Stands in for the worker's Progress: every update is sent to the parent."""

    def __init__(self, events):
        self.events = events

    def __getattr__(self, name):
        if name not in ("queued", "started_item", "finished", "retried", "service_state"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.events.put((name, args, kwargs))


def _start_worker(settings: dict, events) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent: it finishes the round, then stops
    os.environ.update(settings)
    progress.PROGRESS = Forwarder(events)


def _run_stage(stage: str, batch_id: str) -> bool:
    """In the worker process: materialize the stage's assets for the batch; True on success."""
    import dagster as dg

    from pipeline_project.defs.bibliography import assets as bib_assets
    from pipeline_project.defs.bibliography.resources import BibliographyResource
    from pipeline_project.defs.documents.resources import documents_resources
    from pipeline_project.lib.home import get_instance

    resources = {**documents_resources(), "bibliography": BibliographyResource.from_env()}
    result = dg.materialize([getattr(bib_assets, name) for name in STAGES[stage]], partition_key=batch_id,
                            resources=resources, instance=get_instance(), raise_on_error=False,
                            tags={"ocr_batch": batch_id, "bibliography/stage": stage},
                            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    return result.success


class StageWorkers:
    """`workers` processes for one stage; `run(batch_id)` blocks until the batch's stage is done."""

    def __init__(self, stage: str, settings: dict, workers: int = 1):
        self.stage, self.settings, self.workers = stage, dict(settings), max(1, workers)
        self._ctx = mp.get_context("spawn")
        self._events = self._ctx.Queue()
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._closed = threading.Event()
        self._relay = threading.Thread(target=self._forward, daemon=True, name=f"bib-{stage[:7]}-progress")
        self._relay.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx, initializer=_start_worker,
                                   initargs=(self.settings, self._events))

    def _forward(self) -> None:
        while not (self._closed.is_set() and self._events.empty()):
            try:
                name, args, kwargs = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            getattr(progress.PROGRESS, name)(*args, **kwargs)

    def run(self, batch_id: str) -> bool:
        with self._lock:
            pool = self._pool
        try:
            return pool.submit(_run_stage, self.stage, batch_id).result()
        except BrokenProcessPool:  # the worker died (killed, out of memory): a fresh one for the next batch
            with self._lock:
                if self._pool is pool:
                    self._pool = self._new_pool()
            return False

    def close(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=True)
        self._closed.set()
        self._relay.join(timeout=5)
