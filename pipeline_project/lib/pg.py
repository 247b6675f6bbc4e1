"""The warehouse on PostgreSQL: a connection that speaks the part of DuckDB's Python API the project uses.

Domain code is written once, against DuckDB's connection (`execute(sql, params)` returning something
with `fetchall/fetchone/df/fetch_arrow_table`, `register(name, frame)` for a DataFrame or Arrow table
to INSERT ... SELECT from, `BEGIN TRANSACTION`/`COMMIT`). `PgConnection` offers the same over psycopg2
(already a dependency of dagster-postgres): SQL goes through `pg_sql.translate`; a registered frame
becomes a temporary table filled by COPY when a statement first names it, typed like the columns of
the table it is inserted into; `FLOAT[]` (embedding) columns are pgvector `vector`s, read back as
lists of floats.

Postgres lets every process write at once (row locks, not a file lock), so nothing here waits for
another run. Schema statements are the exception: concurrent `CREATE ... IF NOT EXISTS` / `CREATE
OR REPLACE VIEW` race in PostgreSQL's catalog, so they run under one advisory lock, and each
distinct schema statement runs once per process and database (the schema code calls them on every
connection, which on DuckDB costs nothing).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import os
import re
import threading
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extensions as ext

from pipeline_project.lib.pg_sql import is_ddl, translate

SCHEMA_LOCK = 0x5049_5045  # pg_advisory_xact_lock key serialising schema statements ("PIPE")
_DONE_DDL: set[tuple[str, str]] = set()
_DONE_LOCK = threading.Lock()
IDLE_PER_URL = 8
# DuckDB functions the project's SQL uses that PostgreSQL lacks, as SQL functions of the same name
COMPAT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION regexp_extract_all(subject text, pattern text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(array_agg(m[1]), '{}') FROM regexp_matches(subject, pattern, 'g') AS m $$;
CREATE OR REPLACE FUNCTION list_inner_product(a vector, b double precision[]) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT -(a <#> b::vector) $$;
"""
_EMPTY_DTYPES = {16: bool, 20: "int64", 21: "int64", 23: "int64", 700: "float32", 701: "float64"}  # by type oid


def _adapt_numpy() -> None:
    for kind in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        ext.register_adapter(kind, lambda v: ext.AsIs(int(v)))
    for kind in (np.float32, np.float64):
        ext.register_adapter(kind, lambda v: ext.AsIs(repr(float(v))))
    ext.register_adapter(np.bool_, lambda v: ext.AsIs("true" if v else "false"))
    ext.register_adapter(np.ndarray, lambda v: ext.adapt(v.tolist()))


_adapt_numpy()
# sum() and friends of integers are NUMERIC in Postgres (HUGEINT, an int, in DuckDB)
_NUMERIC = ext.new_type(ext.DECIMAL.values, "PIPELINE_NUMERIC",
                        lambda s, cur: None if s is None else _number(decimal.Decimal(s)))


def _number(value: decimal.Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _parse_vector(text: str | None, cur=None) -> list[float] | None:
    return None if text is None else np.fromstring(text[1:-1], sep=",", dtype=np.float32).tolist()


def libpq_url(url: str) -> str:
    """The URL as libpq takes it: SQLAlchemy's `postgresql+psycopg2://` names a driver libpq does not know."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and "+" in scheme else url


class _Pool:
    """A few idle connections per (process, URL): a Dagster step opens many short connections."""

    def __init__(self) -> None:
        self._idle: dict[tuple[int, str], list] = {}
        self._lock = threading.Lock()

    def get(self, url: str):
        with self._lock:
            idle = self._idle.get((os.getpid(), url))
            if idle:
                return idle.pop()
        conn = psycopg2.connect(libpq_url(url))
        conn.autocommit = True  # transactions are explicit (BEGIN ... COMMIT), as in the DuckDB code
        ext.register_type(_NUMERIC, conn)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regtype('vector')::oid, to_regprocedure('regexp_extract_all(text, text)')")
            oid, compat = cur.fetchone()
            if oid is None:
                _locked_ddl(conn, "CREATE EXTENSION IF NOT EXISTS vector")
                cur.execute("SELECT to_regtype('vector')::oid")
                oid = cur.fetchone()[0]
            if compat is None:
                _locked_ddl(conn, COMPAT_FUNCTIONS)
        ext.register_type(ext.new_type((oid,), "VECTOR", _parse_vector), conn)
        return conn

    def put(self, url: str, conn) -> None:
        if conn.closed:
            return
        try:
            if conn.info.transaction_status != ext.TRANSACTION_STATUS_IDLE:
                conn.rollback()
        except psycopg2.Error:
            conn.close()
            return
        with self._lock:
            idle = self._idle.setdefault((os.getpid(), url), [])
            if len(idle) < IDLE_PER_URL:
                idle.append(conn)
                return
        conn.close()


    def close_idle(self, url: str | None = None) -> None:
        """Close idle connections (of one URL, or all): before a database is dropped, at exit."""
        with self._lock:
            keys = [k for k in self._idle if url is None or k[1] == url]
            conns = [c for k in keys for c in self._idle.pop(k)]
        for conn in conns:
            conn.close()


POOL = _Pool()


def _locked_ddl(conn, sql: str) -> None:
    """Run a schema statement under the schema lock (its own transaction unless one is open)."""
    own = conn.info.transaction_status == ext.TRANSACTION_STATUS_IDLE
    with conn.cursor() as cur:
        if own:
            cur.execute("BEGIN")
        try:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
            cur.execute(sql)
            if own:
                cur.execute("COMMIT")
        except Exception:
            if own:
                cur.execute("ROLLBACK")
            raise


class PgConnection:
    """DuckDB's connection API (the subset in use) over one pooled psycopg2 connection."""

    backend = "postgres"

    def __init__(self, url: str, database_key: str | None = None):
        self._url = url
        self._key = database_key or url
        self._conn = POOL.get(url)
        self._cur = self._conn.cursor()
        self._pending: dict[str, Any] = {}  # registered frames not yet copied into a temp table
        self._temp: set[str] = set()

    # -- the DuckDB API ----------------------------------------------------------------------------
    def execute(self, sql: str, parameters: Iterable | Mapping | None = None) -> "PgConnection":
        self._materialize_named(sql)
        named = isinstance(parameters, Mapping)
        params = dict(parameters) if named else list(parameters) if parameters is not None else None
        text = translate(sql, with_params=params is not None, conflict_keys=self._primary_key, named=named)
        if is_ddl(sql):
            memo = (self._key, text) if _repeatable(text) else None
            if memo in _DONE_DDL:
                return self
            _locked_ddl(self._conn, text if params is None else self._cur.mogrify(text, params).decode())
            if memo and self._conn.info.transaction_status == ext.TRANSACTION_STATUS_IDLE:
                with _DONE_LOCK:
                    _DONE_DDL.add(memo)
            return self
        self._cur.execute(text, params)
        return self

    def executemany(self, sql: str, parameters: Iterable[Iterable]) -> "PgConnection":
        self._materialize_named(sql)
        from psycopg2.extras import execute_batch
        execute_batch(self._cur, translate(sql, with_params=True, conflict_keys=self._primary_key),
                      [list(p) for p in parameters], page_size=500)
        return self

    def fetchall(self) -> list[tuple]:
        return self._cur.fetchall() if self._cur.description else []

    def fetchone(self) -> tuple | None:
        return self._cur.fetchone() if self._cur.description else None

    def fetchmany(self, size: int = 1) -> list[tuple]:
        return self._cur.fetchmany(size) if self._cur.description else []

    @property
    def description(self):
        return self._cur.description

    def df(self) -> pd.DataFrame:
        description = self._cur.description or []
        frame = pd.DataFrame.from_records(self.fetchall(), columns=[d.name for d in description])
        if frame.empty:  # typed like DuckDB's, so a boolean mask over no rows is still a mask
            frame = frame.astype({d.name: _EMPTY_DTYPES.get(d.type_code, object) for d in description})
        return frame

    fetchdf = df

    def fetch_arrow_table(self):
        import pyarrow as pa

        names = [d.name for d in self._cur.description or []]
        rows = self.fetchall()
        columns = list(zip(*rows)) if rows else [()] * len(names)
        arrays = []
        for values in columns:
            values = list(values)
            first = next((v for v in values if v is not None), None)
            kind = pa.list_(pa.float32()) if isinstance(first, list) and first and isinstance(first[0], float) else None
            arrays.append(pa.array(values, type=kind))
        return pa.table(dict(zip(names, arrays))) if names else pa.table({})

    def register(self, name: str, frame: Any) -> "PgConnection":
        self._pending[name] = frame
        return self

    def unregister(self, name: str) -> "PgConnection":
        self._pending.pop(name, None)
        if name in self._temp:
            self._temp.discard(name)
            if self._conn.info.transaction_status != ext.TRANSACTION_STATUS_INERROR:
                self._cur.execute(f'DROP TABLE IF EXISTS pg_temp."{name}"')
        return self

    def close(self) -> None:
        for name in list(self._temp):
            self.unregister(name)
        self._cur.close()
        POOL.put(self._url, self._conn)

    def __enter__(self) -> "PgConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- registered frames -------------------------------------------------------------------------
    def _materialize_named(self, sql: str) -> None:
        for name in [n for n in self._pending if re.search(rf"\b{re.escape(n)}\b", sql)]:
            target = re.match(r"\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+([A-Za-z_][\w.]*)", sql, re.IGNORECASE)
            self._copy_in(name, self._pending.pop(name), target.group(1) if target else None)

    def _copy_in(self, name: str, frame: Any, target: str | None) -> None:
        frame = frame.to_pandas() if hasattr(frame, "to_pandas") and not isinstance(frame, pd.DataFrame) else frame
        known = self._column_types(target) if target else {}
        types = {c: known.get(c) or _infer_type(frame[c]) for c in frame.columns}
        cols = ", ".join(f'"{c}" {t}' for c, t in types.items())
        self._cur.execute(f'DROP TABLE IF EXISTS pg_temp."{name}"; CREATE TEMP TABLE "{name}" ({cols})')
        self._temp.add(name)
        buffer = io.StringIO(_copy_text(frame, types))
        self._cur.copy_expert(f'COPY "{name}" FROM STDIN', buffer)

    def _column_types(self, table: str) -> dict[str, str]:
        self._cur.execute("""SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                             WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped""", [table])
        return dict(self._cur.fetchall())

    def _primary_key(self, table: str) -> list[str]:
        self._cur.execute("""SELECT a.attname FROM pg_index i
                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                             WHERE i.indrelid = to_regclass(%s) AND i.indisprimary""", [table])
        return [r[0] for r in self._cur.fetchall()]


def _repeatable(ddl: str) -> bool:
    """CREATE ... IF NOT EXISTS / CREATE OR REPLACE only: running it again changes nothing."""
    statements = [s for s in ddl.split(";") if s.strip()]
    return all(re.match(r"\s*CREATE\s+(OR\s+REPLACE\s+|.*\bIF\s+NOT\s+EXISTS\b)", s, re.IGNORECASE | re.DOTALL)
               for s in statements)


def _infer_type(column: pd.Series) -> str:
    kind = column.dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "M":
        return "timestamp"
    first = next((v for v in column if v is not None and not (isinstance(v, float) and np.isnan(v))), None)
    if isinstance(first, (bool, np.bool_)):
        return "boolean"
    if isinstance(first, (int, np.integer)):
        return "bigint"
    if isinstance(first, (float, np.floating)):
        return "double precision"
    if isinstance(first, dt.datetime):
        return "timestamp"
    if isinstance(first, dt.date):
        return "date"
    if isinstance(first, (list, tuple, np.ndarray)):
        inner = next(iter(first), None)
        return "real[]" if isinstance(inner, (float, int, np.number)) else "text[]"
    return "text"


def _escape(text: str) -> str:
    return (text.replace("\x00", "").replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _array_text(value: Any, vector: bool) -> str:
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)
    if vector or (items and isinstance(items[0], (int, float))):
        body = ",".join(repr(float(v)) for v in items)
        return f"[{body}]" if vector else "{" + body + "}"
    quoted = ('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' if v is not None else "NULL" for v in items)
    return "{" + ",".join(quoted) + "}"


def _cell(value: Any, pg_type: str) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return _escape(_array_text(value, pg_type.startswith("vector")))
    if _is_null(value):
        return "\\N"
    if isinstance(value, dict):
        return _escape(json.dumps(value, default=str))
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and "int" in pg_type and float(value).is_integer():
        return str(int(value))  # an integer column with a NULL is float64 in pandas
    return _escape(str(value))


def _copy_text(frame: pd.DataFrame, types: dict[str, str]) -> str:
    columns = [[_cell(v, types[c]) for v in frame[c].tolist()] for c in frame.columns]
    return "".join("\t".join(row) + "\n" for row in zip(*columns))
