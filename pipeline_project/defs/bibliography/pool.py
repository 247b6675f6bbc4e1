"""Enriching many references at once, within each service's limits.

`workers` threads take references from a queue; each asks the services in turn, and the
services' throttles decide how many requests are actually in flight (Crossref 1 or 3, OpenAlex
several), so more workers than that only keep every service's slots filled. References that come
out *waiting* (a service unavailable) are tried again in later rounds, once the earliest
unavailable service would take a request again, until the deadline; whatever still waits then is
left for the next run (the ledger keeps it pending).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from pipeline_project.defs.bibliography.enrich import WAITING, Enricher, Outcome, RefInput
from pipeline_project.defs.bibliography.progress import Progress

FAILED = "failed"


def _safe(enricher: Enricher, ref: RefInput) -> Outcome:
    try:
        return enricher.enrich(ref)
    except Exception as exc:  # a bug or an answer nobody foresaw: this reference fails, the rest go on
        return Outcome(ref.ref_id, FAILED, reason=f"{type(exc).__name__}: {exc}")


def enrich_all(enricher: Enricher, refs: list[RefInput], *, workers: int = 8, deadline_seconds: float = 0.0,
               progress: Progress | None = None, on_outcome: Callable[[Outcome], None] | None = None,
               stop: threading.Event | None = None) -> dict[str, Outcome]:
    """Outcome per ref_id. `deadline_seconds` bounds how long waiting references are retried."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + deadline_seconds
    outcomes: dict[str, Outcome] = {}
    todo = list(refs)
    if progress:
        progress.queued("enrich", len(todo))
    first_round = True
    while todo and not stop.is_set():
        if not first_round and progress:
            progress.retried("enrich", len(todo))
        results = _round(enricher, todo, workers, progress, on_outcome, stop, count_finish=first_round)
        outcomes.update(results)
        waiting = [r for r in todo if results.get(r.ref_id) and results[r.ref_id].status == WAITING]
        if not waiting:
            break
        pause = min(o.retry_in or 5.0 for o in (results[r.ref_id] for r in waiting))
        if time.monotonic() + pause > deadline:
            break
        stop.wait(pause)
        todo, first_round = waiting, False
    return outcomes


def _round(enricher: Enricher, refs: list[RefInput], workers: int, progress: Progress | None,
           on_outcome, stop: threading.Event, count_finish: bool) -> dict[str, Outcome]:
    results: dict[str, Outcome] = {}

    def one(ref: RefInput) -> None:
        if stop.is_set():
            return
        if progress:
            progress.started_item("enrich")
        outcome = _safe(enricher, ref)
        results[ref.ref_id] = outcome
        if progress:
            error = outcome.reason.split(";")[0] if outcome.status in (WAITING, FAILED) else None
            progress.finished("enrich", outcome.status, error, replaces=None if count_finish else WAITING)
            for name, service in enricher.services.items():
                progress.service_state(name, service.state())
        if on_outcome:
            on_outcome(outcome)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="enrich") as pool:
        list(pool.map(one, refs))
    return results
