"""The walk's warehouse writes, committed in order on one background thread.

Opening the DuckDB file, writing and closing it again costs tens of milliseconds of CPU each time
(the file is opened per transaction so that the web server can read the progress in between), and a
comparison makes several writes per page: each stage's start, its result rows and its ledger row.
Waiting for each of them would add that cost to every page. Instead the walk hands its writes to the
Committer and goes on computing; the Committer's thread commits them in order, several at a time,
in one transaction per batch:

- a result (`urgent=True`: a page's PNGs, overlay or summary) is committed at once — after a few
  milliseconds' wait for writes that follow right behind it (a summary is often done 1 ms after its
  diff) — so a reviewer sees it as soon as it exists;
- a stage's start (`urgent=False`) rides along with the next result, or goes on its own after
  START_LINGER_SECONDS when the stage takes longer than that (so a slow page shows in progress).

A batch's ledger entries are merged per item and written by one ledger upsert (attempts added up, the
last state wins), which is what writing them one by one would leave. A failed commit stops the walk
(`CommitFailed` on the next call): the run fails, and a re-run redoes the stages whose results were
not committed — every write is an upsert, so nothing is written twice.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable

from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect

Rows = Callable[[object], None]  # writes a stage's rows: a function of an open connection, in a transaction
GATHER_SECONDS = 0.025  # a result waits this long for writes right behind it
START_LINGER_SECONDS = 2.0  # a stage's start waits at most this long for a result to ride with


class CommitFailed(RuntimeError):
    """A batch of the walk's writes could not be committed (the warehouse, not a page, failed)."""


@dataclasses.dataclass
class _Write:
    entries: list[ledger.Entry]
    rows: Rows | None
    note: object
    urgent: bool
    at: float = dataclasses.field(default_factory=time.monotonic)


def merge_entries(entries: list[ledger.Entry]) -> list[ledger.Entry]:
    """One entry per item and stage, as writing them one after another would leave the row:
    attempts added up, the last state, the last error / label / detail given."""
    merged: dict[tuple[str, str, str], ledger.Entry] = {}
    for e in entries:
        key = (e.domain, e.item_id, e.stage)
        before = merged.get(key)
        if before is None:
            merged[key] = e
            continue
        merged[key] = dataclasses.replace(
            e, attempts_delta=before.attempts_delta + e.attempts_delta,
            **{f: getattr(e, f) if getattr(e, f) is not None else getattr(before, f)
               for f in ("partition_key", "error", "label", "quarantine_path", "detail")})
    return list(merged.values())


class Committer:
    """`put(entries, rows)` queues a write; `flush()` waits until everything queued is committed."""

    def __init__(self, warehouse, on_commit: Callable[[list[object]], None] = lambda notes: None,
                 max_attempts: int = ledger.DEFAULT_MAX_ATTEMPTS):
        self.warehouse, self.on_commit, self.max_attempts = warehouse, on_commit, max_attempts
        self._queue: list[_Write] = []
        self._busy = self._closed = self._flushing = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="drawings-committer", daemon=True)
        self._thread.start()

    def put(self, entries: list[ledger.Entry], rows: Rows | None = None, *, note: object = None,
            urgent: bool = True) -> None:
        with self._cond:
            self._raise_error()
            if self._closed:
                raise RuntimeError("the committer is closed")
            self._queue.append(_Write(entries, rows, note, urgent))
            self._cond.notify_all()

    def flush(self) -> None:
        with self._cond:
            self._flushing = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._error is not None or (not self._queue and not self._busy))
            self._flushing = False
            self._raise_error()

    def close(self) -> None:
        """Commit what is queued and stop the thread (raises CommitFailed if a batch failed)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        with self._cond:
            self._raise_error()

    def __enter__(self) -> "Committer":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        else:  # the walk is already failing: commit what we can, do not mask its error
            try:
                self.close()
            except CommitFailed:
                pass

    def _raise_error(self) -> None:
        if self._error is not None:
            raise CommitFailed(f"the drawings warehouse writes failed: {self._error}") from self._error

    # ---------------------------------------------------------------------------- the thread
    def _due_in(self) -> float | None:
        """Seconds until the queue should be committed (0: now); None: nothing queued."""
        if not self._queue:
            return None
        if self._closed or self._flushing:
            return 0.0
        now = time.monotonic()
        urgent = [w.at for w in self._queue if w.urgent]
        if urgent:
            return max(0.0, urgent[0] + GATHER_SECONDS - now)
        return max(0.0, self._queue[0].at + START_LINGER_SECONDS - now)

    def _next_batch(self) -> list[_Write] | None:
        with self._cond:
            while True:
                due = self._due_in()
                if due == 0.0:
                    batch, self._queue = self._queue, []
                    self._busy = True
                    return batch
                if due is None and self._closed:
                    return None
                self._cond.wait(timeout=due)

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._commit(batch)
            except BaseException as exc:  # kept for the walk's threads to raise
                with self._cond:
                    self._error = exc
                    self._queue.clear()
                    self._busy = False
                    self._cond.notify_all()
                return
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _commit(self, batch: list[_Write]) -> None:
        entries = merge_entries([e for w in batch for e in w.entries])
        with connect(self.warehouse) as conn:
            conn.execute("BEGIN TRANSACTION")
            for w in batch:
                if w.rows is not None:
                    w.rows(conn)
            ledger.upsert(conn, entries, self.max_attempts)
            conn.execute("COMMIT")
        self.on_commit([w.note for w in batch if w.note is not None])
