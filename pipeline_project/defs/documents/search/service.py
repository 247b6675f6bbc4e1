"""Search as the CLI and the web server run it.

The CLI answers fast by (1) asking the project's web server when one is running on the same data
directory (its model is loaded already), else (2) searching here without importing Dagster, with the
ONNX/OpenVINO model (loads in about a second, against ~9 s for torch + sentence-transformers).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from pipeline_project.defs.documents.search import engine

LOCK_WAIT_SECONDS = 60.0
DEFAULT_SERVER = "http://127.0.0.1:8765"


def warehouse_id(database: str | Path) -> str:
    """Names a warehouse without revealing its path: the CLI asks a server only about its own warehouse."""
    return hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:16]


@contextmanager
def open_database(path: str | Path, wait: float = LOCK_WAIT_SECONDS):
    """A DuckDB connection to the warehouse, waiting while a pipeline run holds the file."""
    import duckdb

    deadline, delay = time.monotonic() + wait, 0.05
    while True:
        try:
            conn = duckdb.connect(str(path))
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


def _answer(query: str, k: int, mode: str, hits: list[dict], started: float, database, where: str) -> dict:
    return {"query": query, "mode": mode, "k": k, "hits": hits, "answered_by": where,
            "warehouse_id": warehouse_id(database), "seconds": round(time.perf_counter() - started, 4)}


# ---------------------------------------------------------------- in the web server (model kept loaded)

def warm() -> None:
    """Load the model now, if its export is made already (a first export, ~20 s of CPU, waits for a search)."""
    from pipeline_project.lib import embedding
    from pipeline_project.lib.resources import shared

    embedder = shared().embedder
    if embedding.is_exported(embedder.model_path, embedder.backend_name()):
        embedder.embed(["warm up"])


def search_shared(query: str, k: int = 5, mode: str = "hybrid") -> dict:
    from pipeline_project.lib.resources import shared
    from pipeline_project.lib.warehouse import connect

    started = time.perf_counter()
    common = shared()
    hits = engine.search(lambda: connect(common.warehouse), common.embedder.embed,
                         common.embedder.model, query, k=k, mode=mode)
    return _answer(query, k, mode, hits, started, common.warehouse.database, "server")


# ---------------------------------------------------------------- in the CLI (no Dagster)

def local_search(query: str, k: int = 5, mode: str = "hybrid") -> dict:
    from pipeline_project.lib import embedding
    from pipeline_project.lib.settings import data_dir

    started = time.perf_counter()
    database = data_dir() / "warehouse.duckdb"
    model = os.environ.get("PIPELINE_EMBEDDING_MODEL") or os.environ.get("EMBEDDING_MODEL") or embedding.DEFAULT_MODEL

    def embed(texts: list[str]):
        enc = embedding.encoder(embedding.resolve_model_path(model), embedding.backend_from_env(), os.cpu_count() or 1)
        return enc.encode(texts)

    pg_url = os.environ.get("PIPELINE_WAREHOUSE_URL", "").strip()
    if pg_url:  # the warehouse on PostgreSQL (docs/POSTGRES.md); its connection needs no Dagster either
        from pipeline_project.lib.pg import PgConnection

        hits = engine.search(lambda: PgConnection(pg_url), embed, model, query, k=k, mode=mode)
        return _answer(query, k, mode, hits, started, database, "cli")
    if not database.exists():
        return _answer(query, k, mode, [], started, database, "cli")
    hits = engine.search(lambda: open_database(database), embed, model, query, k=k, mode=mode)
    return _answer(query, k, mode, hits, started, database, "cli")


def server_url() -> str:
    return (os.environ.get("PIPELINE_API_URL") or DEFAULT_SERVER).rstrip("/")


def ask_server(query: str, k: int, mode: str, timeout: float = 10.0) -> dict | None:
    """The running server's answer, or None when no server of this data directory answers."""
    from pipeline_project.lib.settings import data_dir

    url = f"{server_url()}/api/v1/documents/search?" + urllib.parse.urlencode({"q": query, "k": k, "mode": mode})
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    token = os.environ.get("PIPELINE_API_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None  # nothing listening, an old server without search, or another program on the port
    if not isinstance(answer, dict) or answer.get("warehouse_id") != warehouse_id(data_dir() / "warehouse.duckdb"):
        return None  # a server of another data directory
    return answer


def search(query: str, k: int = 5, mode: str = "hybrid", use_server: bool = True) -> dict:
    """What `pipeline-project search` prints: the server's answer when it has one, else a local search."""
    if use_server:
        answer = ask_server(query, k, mode)
        if answer is not None:
            return answer
    return local_search(query, k, mode)
