"""The tests' PostgreSQL server (scripts/postgres/up.sh; scripts/test.sh starts one per session).

Tests reach it through PIPELINE_TEST_PG_URL (a database the role may create schemas and databases
in), read from .ci-state/postgres/env.sh when the variable is not set. Each test gets a schema or a
database of its own, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

ENV_FILE = Path(__file__).resolve().parents[1] / ".ci-state" / "postgres" / "env.sh"


def server_url() -> str:
    url = os.environ.get("PIPELINE_TEST_PG_URL", "")
    if not url and ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            if line.startswith("export PIPELINE_PG_URL="):
                url = line.split("=", 1)[1].strip()
    return url


def require_server() -> str:
    url = server_url()
    if not url:
        pytest.skip("PostgreSQL not up: run scripts/postgres/up.sh (scripts/test.sh does) or set PIPELINE_TEST_PG_URL")
    return url


def _admin(url: str):
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def fresh_schema(url: str):
    """A URL whose tables land in a new schema (pgvector's type stays visible from public)."""
    schema = "test_" + uuid.uuid4().hex[:10]
    with _admin(url) as conn:
        conn.cursor().execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=" + quote(f"-csearch_path={schema},public")
    finally:
        conn = _admin(url)
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@contextmanager
def fresh_database(url: str):
    """A URL of a new database (created from template1, so it has pgvector), dropped afterwards."""
    name = "test_" + uuid.uuid4().hex[:10]
    conn = _admin(url)
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    try:
        yield with_database(url, name)
    finally:
        conn = _admin(url)
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()
