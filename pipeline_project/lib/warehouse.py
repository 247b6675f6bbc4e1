"""The DuckDB warehouse: a `DuckDBResource` whose `get_connection()` waits out other writers.

DuckDB lets one process write a database file at a time. Runs of different partitions execute in
different processes, so every asset keeps its connection short (compute first, then open, write,
close) and `get_connection()` retries while another process holds the file's lock.
"""

from __future__ import annotations

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


class WarehouseResource(DuckDBResource):
    """The project's warehouse ($PIPELINE_DATA_DIR/warehouse.duckdb on the embedded default)."""

    lock_wait_seconds: float = LOCK_WAIT_SECONDS

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, waiting (up to lock_wait_seconds) while another process holds the file."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_wait_seconds
        delay = 0.05
        while True:
            try:
                with _OPENING:
                    conn = duckdb.connect(self.database, read_only=read_only, config=self.connection_config)
                break
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            yield conn
        finally:
            conn.close()


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
    return WarehouseResource(database=path)
