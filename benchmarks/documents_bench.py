"""Documents pipeline benchmark: Dagster (daemon + sensor) vs a plain-Python baseline.

Corpus: ~200 born-digital PDFs (~2,000 pages) plus ~20 image-only pages, generated here.
Prints: pages/s end to end through Dagster (drop → all embeddings, daemon running), time from a
single PDF's drop to its embeddings, peak RSS of each side, and the Dagster ÷ baseline ratio.

    .venv/bin/python benchmarks/documents_bench.py [--docs 200 --pages 10 --scans 20]

Not a test: it prints figures. Uses its own data dir under benchmarks/out/ (git-ignored).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PeakRss, mib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "documents"
BIN = Path(sys.executable).parent


def make_corpus(folder: Path, docs: int, pages: int, scans: int) -> int:
    from pipeline_project import samples

    if folder.exists():
        shutil.rmtree(folder)
    for i in range(docs):
        samples.born_digital_pdf(folder / f"paper_{i:04d}.pdf", pages=pages, seed=i)
    for i in range(scans):
        samples.image_only_pdf(folder / f"scan_{i:03d}.pdf",
                               [f"Scanned memo {i}", "The survey of the river bridge is complete.",
                                "Inspection found corrosion on the third pier."])
    return docs * pages + scans


def drop(corpus: Path, inbox: Path) -> None:
    """Copy into a hidden folder, then rename into the inbox: how a well-behaved producer drops files."""
    staging = inbox / ".staging"
    shutil.copytree(corpus, staging)
    for path in sorted(staging.iterdir()):
        os.replace(path, inbox / path.name)
    staging.rmdir()


def embedded_batches(instance) -> tuple[set[str], set[str]]:
    import dagster as dg

    registered = set(instance.get_dynamic_partitions("ocr_batches"))
    done = set(instance.get_materialized_partitions(dg.AssetKey("embeddings")))
    return registered, done


def wait_all_embedded(instance, inbox: Path, timeout: float = 3600, poll: float = 1.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]  # other domains keep folders here
        registered, done = embedded_batches(instance)
        if not waiting and registered and registered <= done:
            return time.monotonic()
        time.sleep(poll)
    raise TimeoutError("pipeline did not finish")


SHARED_WORKSPACE = """\
load_from:
  - grpc_server:
      socket: {socket}
      location_name: pipeline_project
"""


def start_dagster(env: dict, data: Path, code_server: str) -> subprocess.Popen:
    """The daemon, and the code server that launches the runs, in one process group (measured together).

    shared: the code server is started once and the daemon pointed at it, as `pipeline-project dev`
    (`dagster dev`) and production deployments run it. daemon: the daemon loads workspace.yaml itself,
    and then replaces its code server every 60 s, the old one living on while its runs last."""
    log = open(OUT / "daemon.log", "w")
    if code_server == "daemon":
        command = f"exec '{BIN}/dagster-daemon' run -w workspace.yaml"
    else:
        socket = data / "code_server.sock"
        workspace = data / "workspace.yaml"
        workspace.write_text(SHARED_WORKSPACE.format(socket=socket))
        command = (f"'{BIN}/dagster' api grpc -m pipeline_project.definitions -a defs -s '{socket}' & "
                   f"until '{BIN}/dagster' api grpc-health-check -s '{socket}' >/dev/null 2>&1; do sleep 0.5; done; "
                   f"exec '{BIN}/dagster-daemon' run -w '{workspace}'")
    return subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_group(leader: subprocess.Popen, grace: float = 60.0) -> None:
    """Stop the daemon, the code server and any run still going, and wait until all have exited (a run
    worker still closing would hold the warehouse's lock). A code server started on its own ignores
    SIGTERM and SIGINT (it serves until killed), so whatever outlives the daemon by 10 s is killed."""
    os.killpg(leader.pid, signal.SIGTERM)
    leader.wait(timeout=grace)
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(leader.pid, signal.SIGKILL if time.monotonic() > deadline else 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def run_dagster(corpus: Path, total_pages: int, code_server: str = "shared") -> dict:
    data = OUT / "dagster_data"
    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"))
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    daemon = start_dagster(env, data, code_server)
    import dagster as dg

    # one instance for the whole measurement: opening one per poll cost the watcher ~25 % of a core,
    # taken from the pipeline it measures
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    try:
        time.sleep(12)  # code server and daemon up before the clock starts
        inbox = data / "inbox"
        with PeakRss(daemon.pid, interval=0.5) as rss:
            start = time.monotonic()
            drop(corpus, inbox)
            end = wait_all_embedded(instance, inbox)
        # single drop → embedded, with the pipeline otherwise idle
        from pipeline_project import samples

        lone = samples.born_digital_pdf(OUT / "lone.pdf", pages=2, seed=999_999)
        before, _ = embedded_batches(instance)
        probe = lone_line(lone)
        t0 = time.monotonic()
        os.replace(lone, inbox / "lone.pdf")
        searchable = None
        while True:
            registered, done = embedded_batches(instance)
            if searchable is None and found_by_search(data, probe):
                searchable = time.monotonic() - t0
            if (registered - before) and (registered - before) <= done:
                break
            time.sleep(0.25)
        latency = time.monotonic() - t0
        if searchable is None:  # indexed and embedded between two polls
            searchable = latency if found_by_search(data, probe) else float("nan")
        registered, _ = embedded_batches(instance)
        timeline = run_timeline(instance)
    finally:
        instance.dispose()
        stop_group(daemon)
    import duckdb

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    seconds = end - start
    return {"seconds": seconds, "pages_per_second": total_pages / seconds, "peak_rss": rss.peak, "peak_pss": rss.peak_pss,
            "at_peak": rss.at_peak, "timeline": timeline, "single_drop_seconds": latency, "single_drop_searchable_seconds": searchable, "batches": len(registered), "chunks": chunks}


def run_timeline(instance) -> list[str]:
    """Each run's queue → start → end and its steps, in seconds from the first run's enqueue: where the
    Dagster side's time went."""
    records = sorted(((instance.get_run_stats(r.run_id), r) for r in instance.get_runs()),
                     key=lambda x: x[0].enqueued_time or 0)
    if not records:
        return []
    t0 = records[0][0].enqueued_time or 0
    at = lambda t: f"{t - t0:5.1f}" if t else "    ?"  # noqa: E731
    lines = []
    for stats, run in records:
        steps = ", ".join(f"{s.step_key} {at(s.start_time)}–{at(s.end_time)}"
                          for s in instance.get_run_step_stats(run.run_id) if s.start_time)
        lines.append(f"{run.job_name} {run.tags.get('dagster/partition', '')[-6:]} queued {at(stats.enqueued_time)}, "
                     f"started {at(stats.start_time)}, ended {at(stats.end_time)} ({run.status.value}): {steps}")
    return lines


def lone_line(pdf: Path) -> str:
    import pymupdf

    with pymupdf.open(pdf) as doc:
        return " ".join(doc[0].get_text().split()[:14])


def found_by_search(data: Path, text: str, mode: str = "lexical") -> bool:
    """`pipeline-project search` (here, no server) puts lone.pdf first for a line of it."""
    os.environ["PIPELINE_DATA_DIR"] = str(data)
    from pipeline_project.defs.documents.search.service import local_search

    hits = local_search(text, k=1, mode=mode)["hits"]
    return bool(hits) and hits[0]["source_file"] == "lone.pdf"


def run_baseline(corpus: Path, total_pages: int) -> dict:
    out = OUT / "baseline_data"
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("documents_baseline.py")), str(corpus), str(out)],
                            stdout=subprocess.PIPE, text=True)
    with PeakRss(proc.pid, interval=0.5) as tree:  # sampled like the Dagster side: the process and its Tesseracts
        stdout, _ = proc.communicate()
    assert proc.returncode == 0, "baseline failed"
    result = json.loads(stdout.strip().splitlines()[-1])
    result["pages_per_second"] = total_pages / result["seconds"]
    result["peak_rss"] = max(result["peak_rss"], tree.peak)
    result["peak_pss"] = tree.peak_pss
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--code-server", choices=["shared", "daemon"], default="shared",
                        help="shared: started once, as `pipeline-project dev` and production run it (default); "
                        "daemon: loaded by the daemon from workspace.yaml, which replaces it every 60 s")
    parser.add_argument("--timeline", action="store_true", help="print each run's steps with their times")
    parser.add_argument("--backends", default="",
                        help="embedding backends to run side by side, e.g. torch,openvino (default: the configured one)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = OUT / "corpus"
    total = make_corpus(corpus, args.docs, args.pages, args.scans)
    print(f"corpus: {args.docs} born-digital PDFs × {args.pages} pages + {args.scans} image-only pages = {total} pages")
    print(f"load: {os.getloadavg()}")
    for backend in [b for b in args.backends.split(",") if b] or [""]:
        if backend:
            os.environ["PIPELINE_EMBEDDING_BACKEND"] = backend  # the baseline, daemon and runs inherit it
            print(f"\n== embedding backend {backend}")
        compare(corpus, total, args.code_server, args.timeline)


def compare(corpus: Path, total: int, code_server: str, timeline: bool) -> None:
    base = run_baseline(corpus, total)
    print(f"baseline (one process)   : {base['seconds']:.1f} s, {base['pages_per_second']:.1f} pages/s, "
          f"peak RSS {mib(base['peak_rss'])}, peak PSS {mib(base['peak_pss'])}, {base['chunks']} chunks")
    dag = run_dagster(corpus, total, code_server)
    print(f"dagster (daemon+sensor, {code_server} code server): {dag['seconds']:.1f} s, {dag['pages_per_second']:.1f} pages/s, "
          f"peak RSS {mib(dag['peak_rss'])}, peak PSS {mib(dag['peak_pss'])} (daemon, code server and runs), "
          f"{dag['batches']} batches, {dag['chunks']} chunks")
    print(f"peak memory dagster ÷ baseline: RSS {dag['peak_rss'] / base['peak_rss']:.2f}, "
          f"PSS {dag['peak_pss'] / base['peak_pss']:.2f} (target ≤ 1.5; RSS counts pages shared between "
          f"processes once per process, PSS splits them)")
    print("  processes at the Dagster side's RSS peak: " + "; ".join(
        f"{name} {mib(rss)} ({mib(pss)} PSS)" for name, rss, pss in sorted(dag["at_peak"], key=lambda p: -p[1])))
    print(f"single PDF drop → embedded: {dag['single_drop_seconds']:.1f} s (target ≤ 30 s); "
          f"→ found by search: {dag['single_drop_searchable_seconds']:.1f} s (target ≤ 15 s)")
    if timeline:
        print("  runs (seconds from the first run queued):\n    " + "\n    ".join(dag["timeline"]))
    print(f"dagster ÷ baseline throughput: {dag['pages_per_second'] / base['pages_per_second']:.2f} (target ≥ 0.9)")


if __name__ == "__main__":
    main()
