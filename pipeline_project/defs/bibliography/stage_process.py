"""One bibliography stage for one batch, in a process of its own (the CLI's concurrent mode).

Dagster runs started from several threads of one process can deadlock: every run's setup
reconfigures Python logging (`logging.config.dictConfig`, which flushes every handler under the
logging lock) while another run's event handler holds a handler lock and asks for that logging lock.
So the CLI runs each stage of each batch as its own process — as the daemon does — which also lets
extraction use a core while enrichment waits on the network. Progress events travel back to the
parent's dashboard through a queue.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading

from pipeline_project.defs.bibliography import progress

STAGES = {"extraction": ("no_metadata",),
          "enrichment and downloads": ("with_metadata", "to_download_references", "downloaded_references")}


class Forwarder:
    """Stands in for the child's Progress: every update is sent to the parent."""

    def __init__(self, events):
        self.events = events

    def __getattr__(self, name):
        if name not in ("queued", "started_item", "finished", "retried", "service_state"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.events.put((name, args, kwargs))


def _child(stage: str, batch_id: str, settings: dict, events) -> None:
    os.environ.update(settings)
    progress.PROGRESS = Forwarder(events)
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
    sys.exit(0 if result.success else 1)


def run_in_process_of_its_own(stage: str, batch_id: str, settings: dict) -> bool:
    """Run the stage for the batch in a fresh process; forward its progress; True on success."""
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    child = ctx.Process(target=_child, args=(stage, batch_id, settings, events), name=f"bib-{stage[:7]}-{batch_id}")
    done = threading.Event()

    def relay():
        while not (done.is_set() and events.empty()):
            try:
                name, args, kwargs = events.get(timeout=0.2)
            except Exception:
                continue
            getattr(progress.PROGRESS, name)(*args, **kwargs)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    child.start()
    child.join()
    done.set()
    relay_thread.join(timeout=5)
    return child.exitcode == 0
