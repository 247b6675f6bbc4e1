"""The DuckDB warehouse (dagster-duckdb), with lock-aware retries.

DuckDB lets one process write a database file at a time. Runs of different batches execute in
different processes, so every asset keeps its connection short (compute first, then open, write,
close) and retries while another process holds the lock.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from dagster_duckdb import DuckDBResource

LOCK_WAIT_SECONDS = 300.0


@contextmanager
def connect(resource: DuckDBResource, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a connection, waiting (up to LOCK_WAIT_SECONDS) while another process holds the file."""
    Path(resource.database).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.05
    while True:
        try:
            conn = duckdb.connect(resource.database, read_only=read_only, config=resource.connection_config)
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


def warehouse_from_path(path: str) -> DuckDBResource:
    return DuckDBResource(database=path)
