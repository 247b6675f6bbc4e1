"""The download ledger: which items are done, so nothing is ever downloaded twice.

It outlives the PDFs (cleanup deletes those after ingest), which is exactly why it exists. SQLite
(stdlib) in WAL mode: several slice runs may write at once from different processes.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

DONE = "done"
FAILED = "failed"  # permanent failure (e.g. HTTP 404): not retried unless asked
RETRY = "retry"  # retries exhausted in a run; the next run tries again, up to a limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    slice TEXT,
    url TEXT,
    file_name TEXT,
    bytes INTEGER,
    reason TEXT,
    transient_runs INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
)
"""


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            con.commit()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def statuses(self, item_ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with closing(self._connect()) as con:
            for start in range(0, len(item_ids), 500):  # stay under SQLite's variable limit
                chunk = item_ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT item_id, status FROM items WHERE item_id IN ({marks})", chunk)
                out.update(dict(rows.fetchall()))
        return out

    def record(self, item_id: str, status: str, *, slice_key: str = "", url: str = "",
               file_name: str = "", size: int = 0, reason: str = "") -> None:
        with closing(self._connect()) as con:
            con.execute(
                "INSERT INTO items VALUES (?,?,?,?,?,?,?,0,?) ON CONFLICT(item_id) DO UPDATE SET "
                "status=excluded.status, slice=excluded.slice, url=excluded.url, "
                "file_name=excluded.file_name, bytes=excluded.bytes, reason=excluded.reason, "
                "updated_at=excluded.updated_at",
                (item_id, status, slice_key, url, file_name, size, reason, time.time()),
            )
            con.commit()

    def record_transient(self, item_id: str, *, slice_key: str, url: str, reason: str,
                         give_up_after: int) -> bool:
        """Count a run whose retries were exhausted; after `give_up_after` such runs the item is
        marked failed so an unreachable file does not make the sensor re-request its slice forever.
        Returns True when it gave up."""
        with closing(self._connect()) as con:
            con.execute(
                "INSERT INTO items VALUES (?,?,?,?,'',0,?,1,?) ON CONFLICT(item_id) DO UPDATE SET "
                "transient_runs=transient_runs+1, reason=excluded.reason, updated_at=excluded.updated_at",
                (item_id, RETRY, slice_key, url, reason, time.time()),
            )
            (runs,) = con.execute("SELECT transient_runs FROM items WHERE item_id=?", (item_id,)).fetchone()
            gave_up = runs >= give_up_after
            if gave_up:
                con.execute("UPDATE items SET status=?, reason=? WHERE item_id=?",
                            (FAILED, f"gave up after {runs} runs: {reason}", item_id))
            con.commit()
            return gave_up

    def counts(self) -> dict[str, int]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT status, COUNT(*), COALESCE(SUM(bytes),0) FROM items GROUP BY status")
            out = {DONE: 0, FAILED: 0, RETRY: 0, "bytes_done": 0}
            for status, n, total in rows.fetchall():
                out[status] = n
                if status == DONE:
                    out["bytes_done"] = int(total)
            return out
