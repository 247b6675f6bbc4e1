"""One real run of the OCR dispatcher: small generated PDFs dropped into the inbox at a steady rate while
`pipeline-project dev` (Dagster UI + daemon, default settings) runs; counts the partitions and runs it
made, pages per batch, and arrival → embedded per file; then, after ten quiet minutes, one lone PDF.

    .venv/bin/python benchmarks/dispatch_real_run.py [--pdfs 2000 --rate 4 --pages 1 --quiet 600]

Not a test: it prints figures. Uses its own data dir under benchmarks/out/dispatch_real/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "dispatch_real"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_corpus(folder: Path, count: int, pages: int) -> list[Path]:
    from pipeline_project import samples

    shutil.rmtree(folder, ignore_errors=True)
    return [samples.born_digital_pdf(folder / f"memo_{i:05d}.pdf", pages=pages, seed=i) for i in range(count)]


def drop(path: Path, inbox: Path) -> None:
    """Copy into a hidden folder, then rename into the inbox: how a well-behaved producer drops a file."""
    staging = inbox / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, staging / path.name)
    os.replace(staging / path.name, inbox / path.name)


def embedded_at(home: Path) -> dict[str, float]:
    """partition → when its embeddings were materialized (the batch is done)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.fetch_materializations(dg.AssetKey("embeddings"), limit=10_000).records
        return {r.partition_key: r.timestamp for r in records if r.partition_key}


def counts(home: Path) -> dict:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        partitions = instance.get_dynamic_partitions("ocr_batches")
        runs = instance.get_runs(dg.RunsFilter(job_name="documents_job"))
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("raw_pdfs"), "partition_budget")]).get(
            dg.AssetCheckKey(dg.AssetKey("raw_pdfs"), "partition_budget"))
    by_status: dict[str, int] = {}
    for run in runs:
        by_status[run.status.value] = by_status.get(run.status.value, 0) + 1
    evaluation = check.evaluation if check else None  # a check still running has no outcome yet
    return {"partitions": partitions, "runs": len(runs), "runs_by_status": by_status,
            "budget_check": None if evaluation is None or not hasattr(evaluation, "passed") else
            {"passed": evaluation.passed, "description": evaluation.description}}


def wait_until(predicate, timeout: float, what: str, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(what)


def batch_of_each_file(batches: Path) -> dict[str, str]:
    out = {}
    for manifest in batches.glob("*/manifest.json"):
        data = json.loads(manifest.read_text())
        for entry in data["files"]:
            out[entry["path"]] = data["batch_id"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=4.0, help="PDFs per second (default 4)")
    parser.add_argument("--pages", type=int, default=1, help="pages per PDF (default 1)")
    parser.add_argument("--quiet", type=float, default=600, help="quiet seconds before the lone PDF (0: skip it)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(OUT / "corpus", args.pdfs, args.pages)
    data = OUT / "data"
    shutil.rmtree(data, ignore_errors=True)
    home, inbox = data / "dagster_home", data / "inbox"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(home))
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    port = free_port()
    log = open(OUT / "dev.log", "w")
    dev = subprocess.Popen([str(BIN / "pipeline-project"), "dev", "--port", str(port), "--web-port", "0"], cwd=ROOT,
                           env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/server_info"), 180, "the Dagster UI")
        time.sleep(10)  # the daemon's first sensor ticks
        print(f"pipeline-project dev up on port {port}; dropping {args.pdfs} PDFs of {args.pages} page(s) "
              f"at {args.rate}/s", flush=True)
        arrived: dict[str, float] = {}
        start = time.time()
        for i, path in enumerate(corpus):
            delay = start + i / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
            drop(path, inbox)
            arrived[path.name] = time.time()
        last_drop = time.time()
        print(f"dropped in {last_drop - start:.0f} s; waiting for every batch to be embedded", flush=True)

        def all_done():
            waiting = [p for p in inbox.iterdir() if not p.name.startswith(".")]
            done = embedded_at(home)
            registered = counts(home)["partitions"]
            return not waiting and registered and set(registered) <= set(done) and done
        done = wait_until(all_done, 3 * 3600, "all batches embedded", interval=5)
        finished = time.time()
        batch_of = batch_of_each_file(data / "batches")
        latencies = [done[batch_of[name]] - t for name, t in arrived.items()]
        result = counts(home)
        pages = []
        for manifest in sorted((data / "batches").glob("*/manifest.json")):
            pages.append(json.loads(manifest.read_text())["pages"])
        print(f"\n{args.pdfs} PDFs ({args.pdfs * args.pages} pages) over {last_drop - start:.0f} s, all embedded "
              f"{finished - last_drop:.0f} s after the last drop")
        print(f"partitions (ocr_batches): {len(result['partitions'])}; documents_job runs: {result['runs']} "
              f"{result['runs_by_status']}")
        print(f"pages per batch: {pages}")
        print(f"arrival → embedded: median {statistics.median(latencies) / 60:.1f} min, "
              f"p95 {sorted(latencies)[int(0.95 * len(latencies))] / 60:.1f} min, max {max(latencies) / 60:.1f} min")
        print(f"partition_budget check (last run): {result['budget_check']}")
        print(storage_figures(home, data, result["runs"]))
        if args.quiet > 0:
            lone_after_quiet(args.quiet, last_drop, home, inbox)
        status = subprocess.run([str(BIN / "pipeline-project"), "status"], env=env, cwd=ROOT, capture_output=True,
                                text=True)
        print("\n".join(line for line in status.stdout.splitlines() if "partitions" in line or "dispatch" in line))
        print(f"(uptime: {os.getloadavg()})")
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # stop what we started, by its process group
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()


def storage_figures(home: Path, data: Path, runs: int) -> str:
    """Dagster's own storage per run, and the warehouse per page and per chunk."""
    import duckdb

    dagster_bytes = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    warehouse = data / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        pages = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    size = warehouse.stat().st_size
    return (f"storage: DAGSTER_HOME {dagster_bytes / 1e6:.1f} MB for {runs} runs ({dagster_bytes / max(runs, 1) / 1e3:.0f} KB "
            f"a run); warehouse.duckdb {size / 1e6:.1f} MB for {pages} pages and {chunks} chunks "
            f"({size / max(pages, 1) / 1e3:.1f} KB a page, {size / max(chunks, 1) / 1e3:.1f} KB a chunk)")


def lone_after_quiet(quiet: float, last_drop: float, home: Path, inbox: Path) -> None:
    from pipeline_project import samples

    lone = samples.born_digital_pdf(OUT / "lone.pdf", pages=2, seed=999_999)
    pause = last_drop + quiet - time.time()
    if pause > 0:
        print(f"\nwaiting {pause:.0f} s so the inbox has been quiet for {quiet:.0f} s", flush=True)
        time.sleep(pause)
    before = set(embedded_at(home))
    t0 = time.time()
    os.replace(lone, inbox / "lone.pdf")
    new = wait_until(lambda: set(embedded_at(home)) - before, 600, "the lone PDF embedded", interval=0.25)
    print(f"lone PDF after {time.time() - last_drop - (time.time() - t0):.0f} quiet seconds → embedded in "
          f"{time.time() - t0:.1f} s (batch {sorted(new)})")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    main()
