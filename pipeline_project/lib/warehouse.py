"""The warehouse: DuckDB by default, PostgreSQL (with pgvector) when $PIPELINE_WAREHOUSE_URL says so.

Every asset talks to it the same way: `with warehouse.get_connection() as conn:` and DuckDB's
connection API (lib/pg.py gives Postgres that API, translating the few dialect differences), so no
domain code knows which backend it writes to.

DuckDB lets one process write a database file at a time. Runs of different partitions execute in
different processes, so every asset keeps its connection short (compute first, then open, write,
close) and `get_connection()` retries while another process holds the file's lock. The time spent
waiting is counted (`lock_waits()`) and, with $PIPELINE_WAREHOUSE_WAIT_LOG set, appended to that file
as one JSON line per wait, so benchmarks can add up what concurrent runs lost. PostgreSQL has no such
lock: its connections never wait here.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from dagster_duckdb import DuckDBResource

LOCK_WAIT_SECONDS = 300.0
# DuckDB shares one database instance per file within a process; two threads opening the same file at
# the same moment race in its instance cache ("Unique file handle conflict"), so opening is serialised.
_OPENING = threading.Lock()
_WAITS = {"count": 0, "seconds": 0.0}


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+")[0] in ("postgresql", "postgres")


def lock_waits() -> dict:
    """Waits for the warehouse lock in this process so far: {"count": n, "seconds": s}."""
    return dict(_WAITS)


def _record_wait(seconds: float) -> None:
    _WAITS["count"] += 1
    _WAITS["seconds"] += seconds
    log = os.environ.get("PIPELINE_WAREHOUSE_WAIT_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:  # one short line per append: safe across processes
            out.write(json.dumps({"pid": os.getpid(), "seconds": round(seconds, 4)}) + "\n")


class WarehouseResource(DuckDBResource):
    """The project's warehouse: `url` (postgresql://...) when set, else the DuckDB file `database`
    ($PIPELINE_DATA_DIR/warehouse.duckdb on the embedded default)."""

    lock_wait_seconds: float = LOCK_WAIT_SECONDS
    url: str = ""

    @property
    def backend(self) -> str:
        return "postgres" if is_postgres_url(self.url) else "duckdb"

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, waiting (up to lock_wait_seconds) while another process holds a DuckDB file."""
        if is_postgres_url(self.url):
            from pipeline_project.lib.pg import PgConnection

            with PgConnection(self.url) as conn:
                yield conn
            return
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        conn = self._open_duckdb(read_only)
        try:
            yield conn
        finally:
            conn.close()

    def _open_duckdb(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        started = time.monotonic()
        deadline = started + self.lock_wait_seconds
        delay, waited = 0.05, False
        while True:
            try:
                with _OPENING:
                    conn = duckdb.connect(self.database, read_only=read_only, config=self.connection_config)
                if waited:
                    _record_wait(time.monotonic() - started)
                return conn
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                waited = True
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


@contextmanager
def connect(resource: DuckDBResource, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """`resource.get_connection()`, for code handed a plain DuckDBResource too."""
    if isinstance(resource, WarehouseResource):
        with resource.get_connection(read_only=read_only) as conn:
            yield conn
    else:
        with WarehouseResource(database=resource.database,
                               connection_config=resource.connection_config).get_connection(read_only) as conn:
            yield conn


def warehouse_from_path(path: str) -> WarehouseResource:
    """The DuckDB file at `path` (whatever $PIPELINE_WAREHOUSE_URL says: some DuckDB files are not the
    warehouse, e.g. observations' views over Parquet)."""
    return WarehouseResource(database=path)


def warehouse_url() -> str:
    """$PIPELINE_WAREHOUSE_URL when it is a postgresql:// URL; empty means DuckDB."""
    from pipeline_project.lib.settings import UserError

    url = os.environ.get("PIPELINE_WAREHOUSE_URL", "").strip()
    if url and not is_postgres_url(url):
        raise UserError(f"PIPELINE_WAREHOUSE_URL must be a postgresql:// URL (or unset for DuckDB), not {url!r}")
    return url
