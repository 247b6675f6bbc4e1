"""The item ledger: one warehouse table holding the state of every unit of work of every domain.

One row per (domain, item, stage): an inbox file at intake, an OCR'd document, a download, a .mat
file, a drawing page at each of its stages, a reference, a crawled URL. Its partition says which
Dagster partition (batch, week, comparison, ...) processes it, so `pipeline-project retry` knows
what to re-run, and `pipeline-project status` reads every domain from this one table.

States: pending → in_progress → done, or → failed (will be retried) → ... → dead_letter (attempts
exhausted, or input no retry can fix, e.g. a quarantined file). `attempts` counts starts.

Writes are upserts keyed by (domain, item_id, stage), so recording the same outcome twice (a re-run
after a crash) leaves one row. Every function takes an open connection, so a stage can write its
own tables and its ledger rows in one transaction; `Ledger` opens one per call for convenience.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from pipeline_project.lib.text import storable
from pipeline_project.lib.warehouse import connect

PENDING, IN_PROGRESS, DONE, FAILED, DEAD_LETTER = "pending", "in_progress", "done", "failed", "dead_letter"
STATES = (PENDING, IN_PROGRESS, DONE, FAILED, DEAD_LETTER)
DEFAULT_MAX_ATTEMPTS = 5

TABLE = "item_ledger"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    domain VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    partition_key VARCHAR,
    state VARCHAR NOT NULL,      -- pending | in_progress | done | failed | dead_letter
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    label VARCHAR,               -- what a person calls the item: file name, URL, "A-101 p.3"
    quarantine_path VARCHAR,     -- where a quarantined input was put (with its .reason.txt)
    detail VARCHAR,              -- domain-specific facts, JSON
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (domain, item_id, stage)
)
"""
COLUMNS = ["domain", "item_id", "stage", "partition_key", "state", "attempts", "last_error", "label",
           "quarantine_path", "detail", "updated_at"]


def ensure_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class Entry:
    """One ledger row to write. `attempts_delta` is added to the stored attempts."""

    domain: str
    item_id: str
    stage: str
    state: str
    partition_key: str | None = None
    error: str | None = None
    label: str | None = None
    quarantine_path: str | None = None
    detail: dict | None = None
    attempts_delta: int = 0

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"ledger state must be one of {STATES}, not {self.state!r}")


@dataclass(frozen=True)
class Row:
    domain: str
    item_id: str
    stage: str
    partition_key: str | None
    state: str
    attempts: int
    last_error: str | None
    label: str | None
    quarantine_path: str | None
    detail: dict = field(default_factory=dict)
    updated_at: dt.datetime | None = None

    def as_dict(self) -> dict:
        return {c: getattr(self, c) for c in COLUMNS}


def _clean(value: Any) -> Any:
    return storable(value) if isinstance(value, str) else value


def upsert(conn: duckdb.DuckDBPyConnection, entries: Iterable[Entry], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
    """Write entries (last one wins per key). Keeps label/quarantine_path/detail when an entry has none.

    A `failed` entry whose attempts reach `max_attempts` is stored as `dead_letter`."""
    latest: dict[tuple, Entry] = {}
    for e in entries:
        latest[(e.domain, e.item_id, e.stage)] = e
    if not latest:
        return
    stamp = now()
    frame = pd.DataFrame(
        [(e.domain, _clean(e.item_id), e.stage, e.partition_key, e.state, e.attempts_delta, _clean(e.error),
          _clean(e.label), e.quarantine_path, json.dumps(e.detail, default=str) if e.detail is not None else None,
          stamp) for e in latest.values()],
        columns=COLUMNS,
    ).astype({"partition_key": "object", "last_error": "object", "label": "object",
              "quarantine_path": "object", "detail": "object"})
    ensure_ledger(conn)
    conn.register("ledger_incoming", frame)
    try:
        conn.execute(
            f"""
            INSERT INTO {TABLE} ({", ".join(COLUMNS)})
            SELECT domain, item_id, stage, partition_key,
                   CASE WHEN state = '{FAILED}' AND attempts >= ? THEN '{DEAD_LETTER}' ELSE state END,
                   attempts, last_error, label, quarantine_path, detail, updated_at
            FROM ledger_incoming
            ON CONFLICT (domain, item_id, stage) DO UPDATE SET
                partition_key = coalesce(excluded.partition_key, {TABLE}.partition_key),
                attempts = {TABLE}.attempts + excluded.attempts,
                state = CASE WHEN excluded.state = '{FAILED}' AND {TABLE}.attempts + excluded.attempts >= ?
                             THEN '{DEAD_LETTER}' ELSE excluded.state END,
                last_error = CASE WHEN excluded.state = '{DONE}' THEN NULL
                                  ELSE coalesce(excluded.last_error, {TABLE}.last_error) END,
                label = coalesce(excluded.label, {TABLE}.label),
                quarantine_path = CASE WHEN excluded.state = '{DONE}' THEN NULL
                                       ELSE coalesce(excluded.quarantine_path, {TABLE}.quarantine_path) END,
                detail = coalesce(excluded.detail, {TABLE}.detail),
                updated_at = excluded.updated_at
            """,
            [max_attempts, max_attempts],
        )
    finally:
        conn.unregister("ledger_incoming")


def _rows(conn: duckdb.DuckDBPyConnection, where: str, params: list) -> list[Row]:
    ensure_ledger(conn)
    result = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {where} "
                          "ORDER BY domain, partition_key, item_id, stage", params).fetchall()
    return [Row(*r[:9], detail=json.loads(r[9]) if r[9] else {}, updated_at=r[10]) for r in result]


def select(conn: duckdb.DuckDBPyConnection, *, domain: str | None = None, stage: str | None = None,
           partition_key: str | None = None, states: Iterable[str] | None = None,
           item_ids: Iterable[str] | None = None) -> list[Row]:
    clauses, params = ["TRUE"], []
    for column, value in (("domain", domain), ("stage", stage), ("partition_key", partition_key)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if states is not None:
        clauses.append("state IN (SELECT unnest(?))")
        params.append(list(states))
    if item_ids is not None:
        clauses.append("item_id IN (SELECT unnest(?))")
        params.append([storable(i) for i in item_ids])
    return _rows(conn, " AND ".join(clauses), params)


def counts(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, dict[str, int]]]:
    """{domain: {stage: {state: n}}} for every domain that has recorded anything."""
    ensure_ledger(conn)
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for domain, stage, state, n in conn.execute(
            f"SELECT domain, stage, state, count(*) FROM {TABLE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall():
        out[domain][stage][state] = n
    return {d: dict(s) for d, s in out.items()}


def requeue(conn: duckdb.DuckDBPyConnection, *, domain: str | None = None,
            dead_letters: bool = False) -> dict[str, dict[str, int]]:
    """Set failed (and, if asked, dead-lettered) items back to pending with a fresh attempt count.

    Quarantined inputs are left alone: the same bytes would fail the same way; a fixed file dropped in
    again is new work. Returns {domain: {partition key: items re-queued}}."""
    ensure_ledger(conn)
    states = [FAILED, DEAD_LETTER] if dead_letters else [FAILED]
    where = "state IN (SELECT unnest(?)) AND quarantine_path IS NULL" + (" AND domain = ?" if domain else "")
    params: list = [states] + ([domain] if domain else [])
    touched = conn.execute(f"SELECT domain, partition_key, count(*) FROM {TABLE} WHERE {where} GROUP BY 1, 2 "
                           "ORDER BY 1, 2", params).fetchall()
    conn.execute(f"UPDATE {TABLE} SET state = '{PENDING}', attempts = 0, updated_at = ? WHERE {where}",
                 [now()] + params)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for d, p, n in touched:
        if p is not None:
            out[d][p] = n
    return dict(out)


class Ledger:
    """One domain's view of the ledger, opening a short connection per call.

    Inside a transaction of your own, call the module functions with your connection instead."""

    def __init__(self, warehouse: DuckDBResource, domain: str, max_attempts: int = DEFAULT_MAX_ATTEMPTS):
        self.warehouse = warehouse
        self.domain = domain
        self.max_attempts = max_attempts

    def entry(self, item_id: str, stage: str, state: str, partition_key: str | None = None, **kw) -> Entry:
        return Entry(self.domain, item_id, stage, state, partition_key, **kw)

    def write(self, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        if not entries:
            return
        with connect(self.warehouse) as conn:
            conn.execute("BEGIN TRANSACTION")
            upsert(conn, entries, self.max_attempts)
            conn.execute("COMMIT")

    # -- the transitions a stage makes --------------------------------------------------------------
    def pending(self, partition_key: str | None, stage: str, item_ids: Iterable[str], **kw) -> None:
        self.write(self.entry(i, stage, PENDING, partition_key, **kw) for i in item_ids)

    def start(self, partition_key: str | None, stage: str, item_ids: Iterable[str], **kw) -> None:
        """Mark items in progress and count an attempt for each."""
        self.write(self.entry(i, stage, IN_PROGRESS, partition_key, attempts_delta=1, **kw) for i in item_ids)

    def done(self, partition_key: str | None, stage: str, item_ids: Iterable[str], **kw) -> None:
        self.write(self.entry(i, stage, DONE, partition_key, **kw) for i in item_ids)

    def fail(self, partition_key: str | None, stage: str, item_id: str, error: str, *,
             count_attempt: bool = False, **kw) -> None:
        """A failure worth retrying; the item becomes a dead letter once attempts reach max_attempts.
        Pass count_attempt=True when `start` was not called for this attempt."""
        self.write([self.entry(item_id, stage, FAILED, partition_key, error=error,
                               attempts_delta=1 if count_attempt else 0, **kw)])

    def dead_letter(self, partition_key: str | None, stage: str, item_id: str, error: str, **kw) -> None:
        """A failure no retry can fix (unreadable input): straight to the dead letters."""
        self.write([self.entry(item_id, stage, DEAD_LETTER, partition_key, error=error, **kw)])

    # -- reading ----------------------------------------------------------------------------------
    def rows(self, **filters) -> list[Row]:
        with connect(self.warehouse) as conn:
            return select(conn, domain=self.domain, **filters)

    def states(self, stage: str, item_ids: Iterable[str] | None = None,
               partition_key: str | None = None) -> dict[str, str]:
        return {r.item_id: r.state for r in self.rows(stage=stage, item_ids=item_ids, partition_key=partition_key)}

    def iter_state(self, stage: str, state: str) -> Iterator[Row]:
        yield from self.rows(stage=stage, states=[state])
