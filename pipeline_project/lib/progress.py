"""Running Dagster work from the command line the way a person wants to watch it: one line per
finished step with its counts, the full event log in a file (printed on the terminal only with
--verbose), and a summary at the end.

The run executes in a worker thread; this thread follows its events in the instance's event log
and reports each asset materialization as it lands, so a long run shows progress while it runs.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import dagster as dg
from sqlalchemy.exc import OperationalError

from pipeline_project.lib.settings import data_dir

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
TAG = "pipeline_project/cli_run"


def log_path(name: str) -> Path:
    """A new log file under $PIPELINE_DATA_DIR/logs/ for one command invocation."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = data_dir() / "logs" / f"{name}-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Outcome:
    success: bool
    run_id: str | None
    seconds: float
    materializations: list[dg.AssetMaterialization] = field(default_factory=list)
    error: str = ""


def _event_line(record) -> str:
    entry = record.event_log_entry
    stamp = dt.datetime.fromtimestamp(entry.timestamp).strftime("%H:%M:%S")
    kind = entry.dagster_event.event_type_value if entry.dagster_event else "LOG"
    step = entry.step_key or "-"
    message = entry.user_message or (entry.dagster_event.message if entry.dagster_event else "") or ""
    return f"{stamp} {kind:<28} {step:<32} {message}"


def run_and_follow(instance: dg.DagsterInstance, launch: Callable[[dict], object], *,
                   on_materialization: Callable[[dg.AssetMaterialization], None] = lambda m: None,
                   log_file: Path | None = None, verbose: bool = False, poll_seconds: float = 0.5) -> Outcome:
    """Call `launch(tags)` (which must start exactly one run with those tags on `instance`) in a worker
    thread; report its materializations as they land; append its event log to `log_file`."""
    tag_value = uuid.uuid4().hex
    result: dict = {}

    def work() -> None:
        try:
            result["value"] = launch({TAG: tag_value})
        except BaseException as exc:  # reported below, never lost in the thread
            result["error"] = f"{type(exc).__name__}: {exc}"

    started = time.monotonic()
    worker = threading.Thread(target=work, name="cli-run", daemon=True)
    worker.start()
    run_id, cursor, seen = None, None, []
    while True:
        alive = worker.is_alive()
        try:
            if run_id is None:
                runs = instance.get_runs(dg.RunsFilter(tags={TAG: tag_value}), limit=1)
                run_id = runs[0].run_id if runs else None
            if run_id is not None:
                conn = instance.get_records_for_run(run_id, cursor=cursor,
                                                    of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
                cursor = conn.cursor
                for record in conn.records:
                    mat = record.asset_materialization
                    if mat is not None:
                        seen.append(mat)
                        on_materialization(mat)
        except OperationalError as exc:  # SQLite storage: the run's own writes can lock a table for a moment
            if "locked" not in str(exc).lower():
                raise
            time.sleep(poll_seconds)
            continue  # read again next time; progress is shown late, never lost (the cursor did not move)
        if not alive:
            break
        time.sleep(poll_seconds)
    worker.join()
    lines = [_event_line(r) for r in instance.get_records_for_run(run_id).records] if run_id else []
    if log_file is not None:
        with open(log_file, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + ("\n" if lines else ""))
    if verbose:
        print("\n".join(lines), flush=True)
    value = result.get("value")
    success = bool(getattr(value, "success", False)) and "error" not in result
    return Outcome(success, run_id, time.monotonic() - started, seen, result.get("error", ""))


def counts_text(metadata: dict, keys: list[str]) -> str:
    """'10 files, 4,000,000 rows' from the materialization metadata entries named in `keys`."""
    parts = []
    for key in keys:
        value = metadata.get(key)
        raw = getattr(value, "value", value)
        if isinstance(raw, bool) or raw is None:
            continue
        if isinstance(raw, (int, float)):
            parts.append(f"{raw:,} {key.replace('_', ' ')}")
    return ", ".join(parts)
