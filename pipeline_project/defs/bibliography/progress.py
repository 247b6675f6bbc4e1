"""Live counts per stage for the dashboard: items per stage, items/min, ETA, errors by reason, retries.

One `Progress` per process; the stages update it as they go (thread-safe), the dashboard reads
`snapshot()` a few times a second. Nothing here is persisted: the item ledger is the record.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

STAGES = ("documents", "extract", "enrich", "download")


@dataclass
class StageCounts:
    queued: int = 0
    running: int = 0
    outcomes: Counter = field(default_factory=Counter)  # matched, unmatched, waiting, done, failed ...
    errors: Counter = field(default_factory=Counter)  # reason → n
    retries: int = 0
    finished_at: deque = field(default_factory=lambda: deque(maxlen=5000))  # monotonic times

    @property
    def finished(self) -> int:
        return sum(self.outcomes.values())


class Progress:
    def __init__(self):
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.stages = {s: StageCounts() for s in STAGES}
        self.services: dict[str, dict] = {}  # service → its latest state (breaker, pace, counts)

    def queued(self, stage: str, n: int = 1) -> None:
        with self._lock:
            self.stages[stage].queued += n

    def started_item(self, stage: str) -> None:
        with self._lock:
            self.stages[stage].running += 1

    def finished(self, stage: str, outcome: str, error: str | None = None, replaces: str | None = None) -> None:
        """An item's outcome; `replaces` is its earlier outcome when this was a retry."""
        with self._lock:
            counts = self.stages[stage]
            counts.running = max(0, counts.running - 1)
            if replaces and counts.outcomes[replaces] > 0:
                counts.outcomes[replaces] -= 1
            else:
                counts.finished_at.append(time.monotonic())
            counts.outcomes[outcome] += 1
            if error:
                counts.errors[error[:100]] += 1

    def retried(self, stage: str, n: int = 1) -> None:
        with self._lock:
            self.stages[stage].retries += n

    def service_state(self, name: str, state: dict) -> None:
        with self._lock:
            self.services[name] = state

    def snapshot(self) -> dict:
        now = time.monotonic()
        with self._lock:
            out = {}
            for name, c in self.stages.items():
                recent = [t for t in c.finished_at if t > now - 60]
                per_min = len(recent) * 60 / min(60.0, max(1.0, now - self.started))
                left = max(0, c.queued - c.finished)
                out[name] = {"queued": c.queued, "running": c.running, "finished": c.finished,
                             "outcomes": dict(c.outcomes), "errors": dict(c.errors.most_common(5)),
                             "retries": c.retries, "per_min": round(per_min, 1),
                             "eta_s": round(left / per_min * 60) if per_min and left else (0 if not left else None)}
            return {"elapsed_s": round(now - self.started, 1), "stages": out, "services": dict(self.services)}


PROGRESS = Progress()  # the process's progress, shown by `pipeline-project bib … ` while it runs


def reset() -> Progress:
    global PROGRESS
    PROGRESS = Progress()
    return PROGRESS
