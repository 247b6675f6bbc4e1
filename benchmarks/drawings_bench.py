"""Drawing comparison through the running system: `pipeline-project dev` (Dagster UI + daemon + the
web server) on a fresh data folder, pairs uploaded over HTTP (POST /api/v1/jobs), followed with the
progress API — as a reviewer uses it.

For a 3-page and a 20-page pair (each comparison --system-repeats times, new pairs each time) it prints
the time from the upload to the first overlay and to all results, in streaming order (each page extract
→ diff → summary, the next page extracted meanwhile) and in stage-by-stage order (every page extracted,
then every page diffed, then summarised; submitted with ?order=stage_by_stage, alternating with the
streaming ones on the same system). The wait before the run starts is split up: POST answered (the
web server has launched the run through the Dagster UI), run queued, run launched by the run queue,
run worker up (process start + code location load), comparison started. Also the pages/s inside the
run next to the plain one-process render + diff script on the same pair (run right after it), the
peak memory of the whole system, and the machine's load average when each comparison began.
`--via sensor` runs the daemon and the web server alone (no UI): runs are requested by the sensor.

First, the same comparison walked in this process (no Dagster) against the plain script, interleaved:
the pipeline's own overhead without Dagster's process start-up.

    .venv/bin/python benchmarks/drawings_bench.py [--size tabloid|letter] [--pages 3 20] [--via ui|sensor]

Targets on a 2-core machine: first overlay ≤ 10 s after upload of the 3-page pair; streaming's first
overlay ≤ 0.3× stage-by-stage's; pages/s ≥ 0.8× the plain script's. Other work on the machine moves
every figure: compare the load averages printed with them.
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

from benchmarks._common import tree_rss_bytes  # noqa: E402
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


def _wait_for(url: str, what: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.3)


class System:
    """A fresh data folder after `pipeline-project init`, and the running system on it:

    via="ui"     `pipeline-project dev`: Dagster UI + daemon + the web server, which launches each
                 uploaded comparison's run at once through the UI (what a user runs);
    via="sensor" the daemon and the web server alone: runs are requested by the drawings sensor."""

    def __init__(self, data: Path, via: str = "ui", dequeue_interval: int | None = None):
        self.data, self.via = data, via
        self.env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"))
        for name in ("PIPELINE_API_TOKEN", "PIPELINE_DAGSTER_URL", "DRAWINGS_PAGE_ORDER"):
            self.env.pop(name, None)
        subprocess.run([str(BIN / "pipeline-project"), "init"], env=self.env, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        if dequeue_interval is not None:  # how often the queued run coordinator launches runs
            config = data / "dagster_home" / "dagster.yaml"
            text = "\n".join(line for line in config.read_text().splitlines() if "dequeue_interval_seconds" not in line)
            config.write_text(text.replace("  config:\n", f"  config:\n    dequeue_interval_seconds: {dequeue_interval}\n", 1))
        self.log = open(data / f"system-{via}.log", "w")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        if via == "ui":
            ui_port = free_port()
            self.procs = [subprocess.Popen([str(BIN / "pipeline-project"), "dev", "--port", str(ui_port), "--web-port",
                                            str(port)], cwd=ROOT, env=self.env, stdout=self.log,
                                           stderr=subprocess.STDOUT, start_new_session=True)]
            _wait_for(f"http://127.0.0.1:{ui_port}/server_info", "the Dagster UI", self.procs[0])
        else:
            self.procs = [subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                           start_new_session=True) for argv in (
                [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                [sys.executable, "-m", "pipeline_project.lib.web", "--port", str(port)])]
        _wait_for(f"{self.base}/api/v1/health", "the web server", self.procs[-1])

    def rss_mb(self) -> float:
        """Resident memory of the whole system: its processes, their code servers and run workers."""
        return sum(tree_rss_bytes(p.pid) for p in self.procs) / 2**20

    def run_timeline(self, job: str) -> dict:
        """When the comparison's run was queued, launched (dequeued) and its worker up (epoch seconds)."""
        import dagster as dg

        with dg.DagsterInstance.from_config(str(self.data / "dagster_home")) as instance:
            records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": job}), limit=5)
            if not records:
                return {}
            record = min(records, key=lambda r: r.create_timestamp)
            starting = instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_STARTING)
            tags = record.dagster_run.tags
            return {"runs": len(records), "queued": record.create_timestamp.timestamp(),
                    "launched": starting[0].timestamp if starting else None, "worker_up": record.start_time,
                    "via": tags.get("launched_by") or ("sensor" if "dagster/sensor_name" in tags else "?")}

    def stop(self) -> None:
        for proc in self.procs:  # dev forwards the interrupt to the UI, the daemon and the web server
            os.killpg(proc.pid, signal.SIGINT if self.via == "ui" else signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.log.close()


def follow(system: System, old: Path, new: Path, order: str = "streaming", timeout: float = 1800) -> dict:
    load = os.getloadavg()[0]
    uploaded_epoch = time.time()
    t0 = time.perf_counter()
    uploaded_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    job = upload(system.base, old, new, order)
    answered = time.perf_counter() - t0
    first = None
    peak = 0.0
    while True:
        p = get(f"{system.base}/api/v1/jobs/{job}/progress")
        peak = max(peak, system.rss_mb())
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
    to_start = (started - uploaded_at).total_seconds()  # launch or sensor tick + run queue + run process start
    timeline = system.run_timeline(job)
    since = {k: (timeline[k] - uploaded_epoch if timeline.get(k) else float("nan"))
             for k in ("queued", "launched", "worker_up")}
    return {"job": job, "status": p["status"], "pages": p["total_pages"], "first_overlay_s": first, "all_s": now,
            "to_start_s": to_start, "first_in_run_s": first - to_start, "run_s": run_s, "answered_s": answered,
            "queued_s": since["queued"], "launched_s": since["launched"], "worker_up_s": since["worker_up"],
            "runs": timeline.get("runs"), "via": timeline.get("via"), "load": load,
            "run_pages_per_s": p["total_pages"] / run_s, "peak_rss_mb": peak}


def through_the_system(pairs: dict[str, dict[int, list]], warmup: samples.RevisionPair, work: Path, via: str,
                       dequeue_interval: int | None) -> dict[str, dict[int, list[dict]]]:
    """One running system; for each pair size and repetition the orders alternate (so load from other
    processes hits both alike), each comparison submitted with ?order=. After each streaming run of
    the largest pair, the plain script compares the same pair (its pages/s next to the run's)."""
    system = System(work / "data", via, dequeue_interval)
    biggest = max(next(iter(pairs.values())))
    results: dict[str, dict[int, list[dict]]] = {order: {} for order in pairs}
    try:
        follow(system, warmup.old, warmup.new)  # the first run pays for loading the code location
        for n in sorted(next(iter(pairs.values()))):
            for rep in range(len(pairs["streaming"][n])):
                for order in pairs:
                    pair = pairs[order][n][rep]
                    r = follow(system, pair.old, pair.new, order)
                    if order == "streaming" and n == biggest:
                        r["baseline_pages_per_s"] = compare_in_order(pair.old, pair.new, work / f"base-{rep}")["pages_per_s"]
                    results[order].setdefault(n, []).append(r)
                    print(f"  {n:>3} pp {order:<15} load {r['load']:4.1f}  first overlay {r['first_overlay_s']:5.1f} s  "
                          f"all {r['all_s']:5.1f} s  via {r['via']}, {r['runs']} run(s)", flush=True)
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


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """'median (min–max)' of a few measurements."""
    import statistics

    values = sorted(values)
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(values[0])}–{fmt.format(values[-1])})"


def report(results: dict, pages: list[int], args, work: Path) -> None:
    print(f"\nDrawing comparison through the system ({args.size} sheets at 220 dpi, {os.cpu_count()} cores, "
          f"runs launched via {args.via}; dequeue interval {args.dequeue_interval or 'as init writes it'}; "
          f"median (min–max) of {args.system_repeats}; work dir {work})")
    print("  seconds after the upload began: POST answered → run queued → run launched → run worker up → "
          "comparison started → first overlay → all results")
    for n in pages:
        for order in results:
            rs = results[order][n]
            cols = [("answered_s", "POST"), ("queued_s", "queued"), ("launched_s", "launched"),
                    ("worker_up_s", "worker up"), ("to_start_s", "started"), ("first_overlay_s", "FIRST OVERLAY"),
                    ("all_s", "all")]
            print(f"  {n:>3} pp {order:<15} load {_spread([r['load'] for r in rs])}")
            print("        " + "  ".join(f"{label} {_spread([r[k] for r in rs])}" for k, label in cols))
            print(f"        in run: first overlay {_spread([r['first_in_run_s'] for r in rs])} s, "
                  f"{_spread([r['run_pages_per_s'] for r in rs], '{:.2f}')} pages/s; peak RSS "
                  f"{_spread([r['peak_rss_mb'] for r in rs], '{:.0f}')} MB; runs per comparison "
                  f"{sorted({r['runs'] for r in rs})}, via {sorted({str(r['via']) for r in rs})}")
    small, biggest = min(pages), max(pages)
    s, b = results["streaming"], results.get("stage_by_stage")
    ratio_pages = [r["run_pages_per_s"] / r["baseline_pages_per_s"] for r in s[biggest]]
    print(f"\ntargets: first overlay of the {small}-page pair {_spread([r['first_overlay_s'] for r in s[small]])} s "
          f"(≤ 10 s)")
    if b:
        for n in pages:
            ratios = [x["first_overlay_s"] / y["first_overlay_s"] for x, y in zip(s[n], b[n])]
            print(f"         {n}-page streaming ÷ stage-by-stage first overlay {_spread(ratios, '{:.2f}')} (≤ 0.3)")
    print(f"         {biggest}-page in-run pages/s ÷ the plain script's right after it {_spread(ratio_pages, '{:.2f}')} "
          f"(≥ 0.8; plain script {_spread([r['baseline_pages_per_s'] for r in s[biggest]], '{:.2f}')} pages/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description="drawing comparison benchmark")
    parser.add_argument("--size", choices=sorted(SIZES), default="tabloid", help="sheet size (default tabloid, 11x17 in)")
    parser.add_argument("--pages", type=int, nargs="+", default=[3, 20])
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--via", choices=("ui", "sensor"), default="ui",
                        help="ui: `pipeline-project dev`, runs launched through the Dagster UI (default); "
                             "sensor: daemon + web server only, runs requested by the sensor")
    parser.add_argument("--dequeue-interval", type=int, default=None,
                        help="set the run coordinator's dequeue_interval_seconds (default: what init writes, 1)")
    parser.add_argument("--streaming-only", action="store_true", help="skip the stage-by-stage comparisons")
    parser.add_argument("--in-process-only", action="store_true", help="only the in-process comparison (no daemon)")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process comparison")
    parser.add_argument("--repeats", type=int, default=2, help="in-process repetitions (median; default 2)")
    parser.add_argument("--system-repeats", type=int, default=2,
                        help="comparisons per pair size and order through the system (default 2)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drawings_bench_"))
    size = SIZES[args.size]
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    def pair(name: str, pages: int, seed: int) -> samples.RevisionPair:
        edits = {i: [samples.EDIT_KINDS[i % len(samples.EDIT_KINDS)]] for i in range(0, pages, 2)}
        return samples.revision_pair(work / "sets" / name, pages=pages, seed=seed, size=size, edits=edits)

    biggest = max(args.pages)
    if not args.no_in_process:
        local = in_one_process(pair("local", biggest, 99), work, args.repeats)
        print(f"\nIn one process, {biggest} pages, median of {args.repeats} interleaved runs "
              f"(load average {os.getloadavg()[0]:.1f}):")
        for k, r in local.items():
            print(f"  {k:<15} first overlay {r['first_overlay_s']:>6.1f} s   all {r['all_s']:>6.1f} s   "
                  f"{r['pages_per_s']:.2f} pages/s")
        print(f"  streaming/stage-by-stage first overlay "
              f"{local['streaming']['first_overlay_s'] / local['stage_by_stage']['first_overlay_s']:.2f}"
              f"; streaming pages/s vs baseline {local['streaming']['pages_per_s'] / local['baseline']['pages_per_s']:.2f}x",
              flush=True)
    if args.in_process_only:
        return
    orders = ("streaming",) if args.streaming_only else ("streaming", "stage_by_stage")
    # a different seed for every comparison: the same pair twice would be the same comparison (no new work)
    pairs = {order: {n: [pair(f"{order}-{n}-{r}", n, 1000 * (i + 1) + 10 * n + r) for r in range(args.system_repeats)]
                     for n in args.pages} for i, order in enumerate(orders)}
    print(f"\nThrough the system (via {args.via}):", flush=True)
    results = through_the_system(pairs, pair("warm", 1, 7), work, args.via, args.dequeue_interval)
    report(results, args.pages, args, work)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
