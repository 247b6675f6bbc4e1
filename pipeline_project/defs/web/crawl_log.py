"""What a crawl run reports while it runs: an append-only event log and a small state file.

    <data>/web/crawls/<name>/runs/<run_id>/
        config.yaml    the config the run used (after --pages / CLOSESPIDER_PAGECOUNT)
        events.jsonl   one line per URL outcome: saved | duplicate | pdf | skipped | error
        state.json     status (running | finished | failed), counts, pid, start and end times
        crawl.log      Scrapy's own log

The crawl process is the only writer; the Dagster asset, the CLI's progress line and
`pipeline-project status` read them, so nobody waits on the crawler and the warehouse is never
touched by it (DuckDB takes one writing process at a time).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_project.lib.atomic import read_json, write_json_atomic

SAVED, DUPLICATE, PDF, SKIPPED, ERROR = "saved", "duplicate", "pdf", "skipped", "error"
OUTCOMES = (SAVED, DUPLICATE, PDF, SKIPPED, ERROR)
RUNNING, FINISHED, FAILED = "running", "finished", "failed"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]


class CrawlLog:
    """The writer side, used inside the crawl process (thread-safe: Scrapy calls back from one
    thread, but the state file is also refreshed from a timer)."""

    def __init__(self, run_dir: Path, crawl: str, run_id: str, page_limit: int):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.counts = {k: 0 for k in OUTCOMES}
        self.state = {"crawl": crawl, "run_id": run_id, "status": RUNNING, "started_at": now_iso(),
                      "finished_at": None, "finish_reason": None, "page_limit": page_limit, "counts": self.counts}
        self._lock = threading.Lock()
        self._events = open(self.run_dir / "events.jsonl", "a", encoding="utf-8")
        self._last_state = 0.0
        self.write_state(force=True)

    def event(self, outcome: str, url: str, **fields) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown crawl outcome {outcome!r}")
        line = json.dumps({"t": now_iso(), "event": outcome, "url": url, **fields}, ensure_ascii=False)
        with self._lock:
            self.counts[outcome] += 1
            self._events.write(line + "\n")
            self._events.flush()  # readers follow the file live
        self.write_state()

    def write_state(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._last_state < 0.5:
                return
            self._last_state = time.monotonic()
            write_json_atomic(self.run_dir / "state.json", self.state)

    def finish(self, reason: str, failed: bool = False) -> None:
        self.state.update(status=FAILED if failed else FINISHED, finished_at=now_iso(), finish_reason=reason)
        self.write_state(force=True)
        self._events.close()


# -- the reader side -------------------------------------------------------------------------------
@dataclass
class RunView:
    run_dir: Path
    state: dict
    events: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.state.get("status", RUNNING)

    @property
    def counts(self) -> dict:
        return self.state.get("counts", {})

    @property
    def finished(self) -> bool:
        return self.status in (FINISHED, FAILED)

    def saved(self) -> list[dict]:
        return [e for e in self.events if e["event"] == SAVED]

    def problems(self) -> list[dict]:
        return [e for e in self.events if e["event"] in (ERROR, SKIPPED)]


def read_events(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "events.jsonl"
    events = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n"):  # a line still being written is read next time
                    try:
                        events.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
    except FileNotFoundError:
        pass
    return events


def read_run(run_dir: Path, with_events: bool = True) -> RunView:
    state = read_json(Path(run_dir) / "state.json", default={}) or {}
    return RunView(Path(run_dir), state, read_events(run_dir) if with_events else [])


def mark_dead(run_dir: Path, reason: str) -> None:
    """The crawl process is gone without finishing (killed): say so in its state file."""
    state = read_json(Path(run_dir) / "state.json", default={}) or {}
    if state.get("status", RUNNING) == RUNNING:
        state.update(status=FAILED, finished_at=now_iso(), finish_reason=reason)
        write_json_atomic(Path(run_dir) / "state.json", state)
