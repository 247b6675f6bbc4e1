"""Drawing comparison through the running system: the web server and the Dagster daemon as processes,
pairs uploaded over HTTP (POST /api/v1/jobs), followed with the progress API.

For a 3-page and a 20-page pair it prints the time from upload to the first overlay (split into the
wait for the run to start — sensor tick, run queue, run process start — and the time inside the run)
and to all results, in streaming order (each page extract → diff → summary before the next) and in
stage-by-stage order (every page extracted, then every page diffed, then summarised; submitted with
?order=stage_by_stage, alternating with the streaming ones on the same daemon), the pages/s inside the
run, the peak memory of the daemon's processes, and the pages/s of a plain one-process render + diff
script on the same files. First, the same comparison walked in this process (no daemon) against the
plain script, interleaved: the pipeline's own overhead without Dagster's process start-up.

    .venv/bin/python benchmarks/drawings_bench.py [--size tabloid|letter] [--pages 3 20]

Targets on a 2-core machine: first overlay ≤ 10 s after upload of the 3-page pair; streaming's first
overlay ≤ 0.3× stage-by-stage's; pages/s ≥ 0.8× the plain script's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from benchmarks.drawings_baseline import compare_in_order  # noqa: E402
from pipeline_project.samples import drawings as samples  # noqa: E402

SIZES = {"tabloid": samples.TABLOID_LANDSCAPE, "letter": samples.LETTER_LANDSCAPE}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def upload(base: str, old: Path, new: Path, order: str = "streaming") -> str:
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{p.name}\"\r\n"
                    "Content-Type: application/pdf\r\n\r\n".encode() + p.read_bytes() + b"\r\n"
                    for k, p in (("old", old), ("new", new))) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/api/v1/jobs?order={order}", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.loads(r.read())["job_id"]


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in a process group (the daemon and its run workers)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields: state ppid pgrp ...
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


class System:
    """`pipeline-project init`, the daemon and the web server, on a fresh data folder."""

    def __init__(self, data: Path, order: str, dequeue_interval: int | None = None):
        self.data = data
        self.env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
                        DRAWINGS_PAGE_ORDER=order)
        self.env.pop("PIPELINE_API_TOKEN", None)
        subprocess.run([str(BIN / "pipeline-project"), "init"], env=self.env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        if dequeue_interval is not None:  # how often the queued run coordinator launches runs (default 5 s)
            config = data / "dagster_home" / "dagster.yaml"
            config.write_text(config.read_text().replace(
                "  config:\n", f"  config:\n    dequeue_interval_seconds: {dequeue_interval}\n", 1))
        self.logs = [open(data / f"daemon-{order}.log", "w"), open(data / f"server-{order}.log", "w")]
        self.daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=ROOT,
                                       env=self.env, stdout=self.logs[0], stderr=subprocess.STDOUT,
                                       start_new_session=True)
        port = free_port()
        self.server = subprocess.Popen([sys.executable, "-m", "pipeline_project.lib.web", "--port", str(port)],
                                       cwd=ROOT, env=self.env, stdout=self.logs[1], stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                get(f"{self.base}/api/v1/health")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the web server did not start")
                time.sleep(0.3)

    def stop(self) -> None:
        for proc in (self.server, self.daemon):
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in self.logs:
            log.close()


def follow(system: System, old: Path, new: Path, order: str = "streaming", timeout: float = 1800) -> dict:
    t0 = time.perf_counter()
    uploaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    job = upload(system.base, old, new, order)
    first = None
    peak = 0.0
    while True:
        p = get(f"{system.base}/api/v1/jobs/{job}/progress")
        peak = max(peak, group_rss_mb(system.daemon.pid))
        now = time.perf_counter() - t0
        if first is None:
            ready = [pg for pg in p["pages"] if pg.get("diff_result")]
            if ready:
                with urllib.request.urlopen(system.base + ready[0]["diff_result"]["overlay_url"], timeout=30) as r:
                    r.read()
                first = time.perf_counter() - t0
        if p["status"] in ("completed", "failed"):
            break
        if now > timeout:
            raise RuntimeError(f"comparison {job} not done after {timeout} s")
        time.sleep(0.5)  # a reviewer's page polls every 2 s; this polls 4x as often
    started = dt.datetime.fromisoformat(p["started_at"])
    run_s = (dt.datetime.fromisoformat(p["finished_at"]) - started).total_seconds()
    to_start = (started - uploaded_at).total_seconds()  # sensor tick + run queue + run process start
    return {"job": job, "status": p["status"], "pages": p["total_pages"], "first_overlay_s": first, "all_s": now,
            "to_start_s": to_start, "first_in_run_s": first - to_start, "run_s": run_s,
            "run_pages_per_s": p["total_pages"] / run_s, "peak_rss_mb": peak}


def through_the_system(streaming: dict, staged: dict, warmup: samples.RevisionPair, work: Path,
                       dequeue_interval: int | None, orders=("streaming", "stage_by_stage")) -> dict:
    """One daemon and one server; for each pair size the two orders alternate (so load from other
    processes hits both alike), each comparison submitted with ?order=."""
    system = System(work / "data", "streaming", dequeue_interval)
    try:
        follow(system, warmup.old, warmup.new)  # the daemon's first run pays for loading the code location
        results: dict[str, dict] = {order: {} for order in orders}
        for n in streaming:
            for order in orders:
                results[order][n] = follow(system, (streaming if order == "streaming" else staged)[n].old,
                                           (streaming if order == "streaming" else staged)[n].new, order)
        return results
    finally:
        system.stop()


def in_one_process(pair: samples.RevisionPair, work: Path, repeats: int) -> dict:
    """The same comparison walked in this process (no daemon, no server): streaming, stage by stage
    and the plain baseline, interleaved so that load from other processes hits all three alike."""
    import statistics

    from pipeline_project.defs.drawings.submissions import submit
    from pipeline_project.defs.drawings.summary import LocalSummarizer
    from pipeline_project.defs.drawings.walker import Walker
    from pipeline_project.lib.warehouse import warehouse_from_path

    runs: dict[str, list[tuple[float, float]]] = {"streaming": [], "stage_by_stage": [], "baseline": []}
    for r in range(repeats):
        for order in ("streaming", "stage_by_stage"):
            root = work / f"inproc-{order}-{r}"
            warehouse = warehouse_from_path(str(root / "warehouse.duckdb"))
            job = submit(root, warehouse, pair.old, pair.new, source="cli", owner="user").job_id
            start = time.perf_counter()
            report = Walker(root, warehouse, job, LocalSummarizer(), order=order).run()
            total = time.perf_counter() - start
            runs[order].append((min(t for _, stage, t in report.commits if stage == "diff"), total))
        base = compare_in_order(pair.old, pair.new, work / f"inproc-baseline-{r}")
        runs["baseline"].append((base["first_overlay_s"], base["seconds"]))
    pages = len(pair.new_sheets)
    return {k: {"first_overlay_s": statistics.median(f for f, _ in v), "all_s": statistics.median(t for _, t in v),
                "pages_per_s": pages / statistics.median(t for _, t in v)} for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="drawing comparison benchmark")
    parser.add_argument("--size", choices=sorted(SIZES), default="tabloid", help="sheet size (default tabloid, 11x17 in)")
    parser.add_argument("--pages", type=int, nargs="+", default=[3, 20])
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--dequeue-interval", type=int, default=None,
                        help="set the run coordinator's dequeue_interval_seconds in the instance (Dagster's default: 5)")
    parser.add_argument("--streaming-only", action="store_true", help="skip the stage-by-stage pass and the baseline")
    parser.add_argument("--in-process-only", action="store_true", help="only the in-process comparison (no daemon)")
    parser.add_argument("--repeats", type=int, default=2, help="in-process repetitions (median; default 2)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drawings_bench_"))
    size = SIZES[args.size]

    def pair(name: str, pages: int, seed: int) -> samples.RevisionPair:
        edits = {i: [samples.EDIT_KINDS[i % len(samples.EDIT_KINDS)]] for i in range(0, pages, 2)}
        return samples.revision_pair(work / "sets" / name, pages=pages, seed=seed, size=size, edits=edits)

    # different seeds per order: the same pair twice would be the same comparison (no new work)
    streaming = {n: pair(f"s{n}", n, 100 + n) for n in args.pages}
    biggest = max(args.pages)
    local = in_one_process(streaming[biggest], work, args.repeats)
    print(f"\nIn one process, {biggest} pages, median of {args.repeats} interleaved runs "
          f"(load average {os.getloadavg()[0]:.1f}):")
    for k, r in local.items():
        print(f"  {k:<15} first overlay {r['first_overlay_s']:>6.1f} s   all {r['all_s']:>6.1f} s   "
              f"{r['pages_per_s']:.2f} pages/s")
    print(f"  streaming/stage-by-stage first overlay {local['streaming']['first_overlay_s'] / local['stage_by_stage']['first_overlay_s']:.2f}"
          f"; streaming pages/s vs baseline {local['streaming']['pages_per_s'] / local['baseline']['pages_per_s']:.2f}x")
    if args.in_process_only:
        return
    staged = {n: pair(f"b{n}", n, 200 + n) for n in args.pages}
    orders = ("streaming",) if args.streaming_only else ("streaming", "stage_by_stage")
    results = through_the_system(streaming, staged, pair("warm", 1, 7), work, args.dequeue_interval, orders)
    if args.streaming_only:
        for n, r in results["streaming"].items():
            print(f"{n:>3} pages streaming: first overlay {r['first_overlay_s']:.1f} s (run started after "
                  f"{r['to_start_s']:.1f} s), all {r['all_s']:.1f} s, in-run {r['run_pages_per_s']:.2f} pages/s")
        return
    base = compare_in_order(streaming[biggest].old, streaming[biggest].new, work / "baseline")

    print(f"\nDrawing comparison benchmark ({args.size} sheets at 220 dpi, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; dequeue interval {args.dequeue_interval or 'default'}; work dir {work})")
    print(f"{'pair':>8} {'order':<15} {'first overlay':>14} {'(run start':>11} {'+ in run)':>10} {'all results':>12} "
          f"{'in-run pages/s':>15} {'peak RSS':>10}")
    for n in args.pages:
        for order in ("streaming", "stage_by_stage"):
            r = results[order][n]
            print(f"{n:>5} pp {order:<15} {r['first_overlay_s']:>12.1f} s {r['to_start_s']:>9.1f} s "
                  f"{r['first_in_run_s']:>8.1f} s {r['all_s']:>10.1f} s {r['run_pages_per_s']:>15.2f} "
                  f"{r['peak_rss_mb']:>7.0f} MB")
    print(f"baseline (plain one-process render + diff, {base['pages']} pages): {base['pages_per_s']:.2f} pages/s, "
          f"first overlay {base['first_overlay_s']:.1f} s, peak RSS {base['peak_rss_mb']:.0f} MB")
    small = min(args.pages)
    s, b = results["streaming"], results["stage_by_stage"]
    print(f"\ntargets: first overlay of the {small}-page pair {s[small]['first_overlay_s']:.1f} s (≤ 10 s); "
          + "; ".join(f"{n}-page streaming/stage-by-stage first overlay {s[n]['first_overlay_s'] / b[n]['first_overlay_s']:.2f}"
                      for n in args.pages) + " (≤ 0.3); "
          f"{biggest}-page in-run pages/s vs baseline {s[biggest]['run_pages_per_s'] / base['pages_per_s']:.2f}× (≥ 0.8)")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
