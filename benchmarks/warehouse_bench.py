"""Warehouse backends side by side: the documents pipeline on DuckDB and on PostgreSQL, 1, 2 and 4 runs at once.

For each backend and each number of concurrent runs N, the same corpus is dropped into the inbox of a
fresh project with the real daemon running, cut into N batches (PIPELINE_BATCH_MIN_PAGES = pages / N)
and run N at a time (PIPELINE_MAX_CONCURRENT_RUNS = N). Printed per configuration:

- pages/s from the drop to the last batch's embeddings;
- warehouse waits: seconds (and count) runs spent waiting for the DuckDB file lock, as recorded by
  WarehouseResource through PIPELINE_WAREHOUSE_WAIT_LOG; on PostgreSQL nothing waits for a file, so
  the server's own lock waits are counted instead (log_lock_waits: every lock wait > 100 ms is logged).

DuckDB runs use the embedded defaults (SQLite instance); PostgreSQL runs the scale-out configuration
(instance on dagster-postgres and warehouse on PostgreSQL + pgvector, fresh databases each time).

    .venv/bin/python benchmarks/warehouse_bench.py [--docs 32 --pages 5 --scans 4 --runs 1 2 4]

Starts its own PostgreSQL with scripts/postgres/up.sh (state in .ci-state/postgres-bench, stopped at
the end by PID) unless --pg-url names a server. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from documents_bench import drop, embedded_batches, make_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "warehouse"
BIN = Path(sys.executable).parent
PG_STATE = ROOT / ".ci-state" / "postgres-bench"


def start_postgres() -> tuple[str, Path]:
    subprocess.run(["bash", str(ROOT / "scripts/postgres/up.sh"), str(PG_STATE)], check=True, stdout=subprocess.DEVNULL)
    env = dict(line.removeprefix("export ").split("=", 1) for line in (PG_STATE / "env.sh").read_text().splitlines()
               if line.startswith("export "))
    return env["PIPELINE_PG_URL"], Path((PG_STATE / "data_dir").read_text().strip()) / "server.log"


def new_database(server_url: str) -> str:
    import psycopg2
    from urllib.parse import urlsplit, urlunsplit

    name = "bench_" + uuid.uuid4().hex[:8]
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


def drop_database(server_url: str, url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    conn.close()


def wait_embedded(home: Path, inbox: Path, timeout: float = 3600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # PDFs still in the inbox (other domains keep folders there: inbox/web, inbox/drawings)
        waiting = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
        registered, done = embedded_batches(home)  # dagster.yaml holds the instance's URL
        if not waiting and registered and registered <= done:
            return time.monotonic()
        time.sleep(0.5)
    raise TimeoutError("pipeline did not finish")


def count_pg_lock_waits(log: Path | None, start: int) -> int:
    if log is None or not log.exists():
        return -1
    with open(log, "rb") as f:
        f.seek(start)
        return sum(1 for line in f if b"still waiting for" in line)


def run_once(backend: str, runs: int, corpus: Path, pages: int, pg: tuple[str, Path | None] | None) -> dict:
    data = OUT / f"{backend}_{runs}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    wait_log = data / "warehouse_waits.jsonl"
    env = {"PIPELINE_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home"),
           "PIPELINE_MAX_CONCURRENT_RUNS": str(runs), "PIPELINE_BATCH_MIN_PAGES": str(max(1, pages // runs)),
           "PIPELINE_BATCH_MAX_WAIT_SECONDS": "30", "PIPELINE_WAREHOUSE_WAIT_LOG": str(wait_log)}
    databases = []
    if backend == "postgres":
        databases = [new_database(pg[0]), new_database(pg[0])]
        env.update(PIPELINE_DAGSTER_PG_URL=databases[0], PIPELINE_WAREHOUSE_URL=databases[1])
    full_env = {k: v for k, v in os.environ.items() if k not in ("PIPELINE_DAGSTER_PG_URL", "PIPELINE_WAREHOUSE_URL")}
    full_env.update(env)
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=full_env, check=True, stdout=subprocess.DEVNULL,
                   cwd=ROOT)
    log = open(data / "daemon.log", "w")
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=ROOT, env=full_env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    pg_log = pg[1] if pg and backend == "postgres" else None
    log_start = pg_log.stat().st_size if pg_log and pg_log.exists() else 0
    try:
        time.sleep(8)  # daemon and code server up before the clock starts
        start = time.monotonic()
        drop(corpus, data / "inbox")
        end = wait_embedded(data / "dagster_home", data / "inbox")
        registered, _ = embedded_batches(data / "dagster_home")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    waits = [json.loads(line) for line in wait_log.read_text().splitlines()] if wait_log.exists() else []
    result = {"backend": backend, "runs": runs, "seconds": end - start, "pages_per_second": pages / (end - start),
              "batches": len(registered), "wait_seconds": sum(w["seconds"] for w in waits), "waits": len(waits),
              "pg_lock_waits": count_pg_lock_waits(pg_log, log_start) if backend == "postgres" else None}
    for url in databases:
        drop_database(pg[0], url)
    return result


def print_table(results: list[dict]) -> None:
    by = {(r["backend"], r["runs"]): r for r in results}
    runs = sorted({r["runs"] for r in results})
    print(f"\n{'runs':>4} | {'DuckDB pages/s':>14} {'lock wait s (n)':>16} | {'Postgres pages/s':>16} "
          f"{'lock wait s (n)':>16} {'server lock waits':>17} | {'PG ÷ DuckDB':>11}")
    for n in runs:
        d, p = by.get(("duckdb", n)), by.get(("postgres", n))
        dcol = f"{d['pages_per_second']:>14.2f} {d['wait_seconds']:>10.1f} ({d['waits']:>3})" if d else " " * 31
        pcol = (f"{p['pages_per_second']:>16.2f} {p['wait_seconds']:>10.1f} ({p['waits']:>3}) {p['pg_lock_waits']:>17}"
                if p else " " * 51)
        ratio = f"{p['pages_per_second'] / d['pages_per_second']:>11.2f}" if d and p else ""
        print(f"{n:>4} | {dcol} | {pcol} | {ratio}")
    if by.get(("duckdb", 1)) and by.get(("postgres", 1)):
        ratio = by[("postgres", 1)]["pages_per_second"] / by[("duckdb", 1)]["pages_per_second"]
        print(f"\nPostgres ÷ DuckDB at 1 run: {ratio:.2f} (target ≥ 0.9)")
    if by.get(("postgres", max(runs))):
        p = by[("postgres", max(runs))]
        print(f"Postgres lock waits at {max(runs)} runs: {p['waits']} file-lock waits, "
              f"{p['pg_lock_waits']} server lock waits > 100 ms (target 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=32)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--scans", type=int, default=4)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--backends", nargs="+", default=["duckdb", "postgres"], choices=["duckdb", "postgres"])
    parser.add_argument("--pg-url", default="", help="an existing server's database (default: start one)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = OUT / "corpus"
    pages = make_corpus(corpus, args.docs, args.pages, args.scans)
    print(f"corpus: {args.docs} born-digital PDFs × {args.pages} pages + {args.scans} image-only pages = {pages} pages")
    print(f"load before: {os.getloadavg()[0]:.1f} (1-min load average, {os.cpu_count()} cores)")
    started_pg = False
    pg = None
    if "postgres" in args.backends:
        if args.pg_url:
            pg = (args.pg_url, None)
        else:
            pg, started_pg = start_postgres(), True
    results = []
    try:
        for runs in args.runs:
            for backend in args.backends:  # alternated, so both see the same machine load
                r = run_once(backend, runs, corpus, pages, pg)
                results.append(r)
                print(f"{backend:>8} × {runs} run(s): {r['seconds']:.1f} s, {r['pages_per_second']:.2f} pages/s, "
                      f"{r['batches']} batches, lock waits {r['wait_seconds']:.1f} s ({r['waits']})"
                      + (f", server lock waits {r['pg_lock_waits']}" if backend == "postgres" else ""), flush=True)
    finally:
        if started_pg:
            subprocess.run(["bash", str(ROOT / "scripts/postgres/down.sh"), str(PG_STATE)], check=False,
                           stdout=subprocess.DEVNULL)
    print_table(results)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
