"""OCR dispatcher simulation: the real dispatch code (batching.dispatch, which ocr_batch_sensor calls every
tick) driven by a simulated clock, simulated arrivals and a run-time model from the measured documents
benchmark. No files, no OCR, no embedding: only the decisions.

    .venv/bin/python benchmarks/dispatch_bench.py                 # every arrival pattern, local engine
    .venv/bin/python benchmarks/dispatch_bench.py --engine slurm  # SLURM/GPU defaults and run-time model
    .venv/bin/python benchmarks/dispatch_bench.py --scale         # 1M PDFs (10M pages): partitions, runs, ticks
                                                                  # (and the real sensor's tick on 1,000 / 10,000 waiting PDFs)

Per pattern: batches per million documents (over the whole run, and in the sustained part: after the
first hour, before the arrivals stop), median/p95 pages per batch, median/p95 time from a file's
arrival to its batch's completion, files never done (must be 0).

Run-time model (one run = one batch), `local`: 15 s fixed + 0.152 s per page per run, 2 runs at a time.
From benchmarks/documents_bench.py on this machine (docs/ARCHITECTURE.md): a lone 2-page PDF embedded
in ~17 s (the fixed part), 2,020 pages at 13.2 pages/s with two runs overlapping (2 / 13.2 = 0.152 s
per page per run). `slurm`: 15 s run + 9 s SLURM job start (benchmarks/streaming_bench.py, ~8–9 s),
olmOCR-2 at 4.5 pages/s per H100 (published) on the 30 % scanned pages = 0.067 s/page, 8 GPU runs.

The sensor ticks every 5 s (its minimum_interval_seconds) and sees a file ≥ 1 s after it arrived
(min_file_age_seconds).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline_project.defs.documents import batching, dispatch_policy  # noqa: E402

TICK = 5.0
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True)
class RunModel:
    fixed_seconds: float
    seconds_per_page: float
    slots: int


MODELS = {"local": RunModel(15.0, 2 / 13.2, 2), "slurm": RunModel(15.0 + 9.0, 0.3 / 4.5, 8)}


# ---- arrival patterns: lists of (arrival time, pages), sorted ---------------------------------------------

def constant(per_second: float, docs: int, pages: int = 10, start: float = 0.0) -> list[tuple[float, int]]:
    return [(start + i / per_second, pages) for i in range(docs)]


def poisson(per_second: float, docs: int, pages: int = 10, seed: int = 1) -> list[tuple[float, int]]:
    rng, t, out = random.Random(seed), 0.0, []
    for _ in range(docs):
        t += rng.expovariate(per_second)
        out.append((t, pages))
    return out


def bursts(size: int, every: float, count: int, pages: int = 10) -> list[tuple[float, int]]:
    """`size` PDFs dropped within one second, every `every` seconds."""
    return [(b * every + i / size, pages) for b in range(count) for i in range(size)]


def day_night(days: int, day_rate: float, night_rate: float, pages: int = 10) -> list[tuple[float, int]]:
    """16 h of day_rate then 8 h of night_rate PDFs per second, evenly spaced."""
    out = []
    for d in range(days):
        out += constant(day_rate, int(16 * HOUR * day_rate), pages, start=d * DAY)
        out += constant(night_rate, int(8 * HOUR * night_rate), pages, start=d * DAY + 16 * HOUR)
    return out


def lone_after_quiet(load_rate: float, load_seconds: float, quiet: float) -> list[tuple[float, int]]:
    """An hour of load, `quiet` seconds with nothing, then one 10-page PDF (the last arrival)."""
    load = constant(load_rate, int(load_seconds * load_rate))
    return load + [(load[-1][0] + quiet, 10)]


# ---- the simulation --------------------------------------------------------------------------------------

@dataclass
class Result:
    batches: list[tuple[float, int, int]] = field(default_factory=list)  # (cut time, pages, files)
    latencies: list[float] = field(default_factory=list)  # per file: arrival → its batch done
    stranded: int = 0
    tick_seconds: list[float] = field(default_factory=list)
    ticks: int = 0
    last_latency: float = 0.0  # of the last file to arrive


def simulate(arrivals: list[tuple[float, int]], settings: dispatch_policy.DispatchSettings, model: RunModel,
             horizon: float = 60 * DAY, time_ticks: bool = False) -> Result:
    res = Result()
    history = dispatch_policy.DispatchHistory()
    waiting: list[batching.WaitingFile] = []
    arrival_of: dict[str, float] = {}
    running: list[float] = []  # heap of end times of runs holding a slot
    queue: list[tuple[list[str], float]] = []  # batches waiting for a slot (file names, seconds)
    done_at: dict[str, float] = {}
    nxt, now, partitions = 0, 0.0, 0
    end = (arrivals[-1][0] if arrivals else 0.0) + horizon
    while now <= end:
        while running and running[0] <= now:  # runs that ended free their slot
            heapq.heappop(running)
        while queue and len(running) < model.slots:  # the queued run coordinator starts the next one
            names, seconds = queue.pop(0)
            finish = now + seconds
            heapq.heappush(running, finish)
            for n in names:
                done_at[n] = finish
        while nxt < len(arrivals) and arrivals[nxt][0] <= now - 1.0:  # min_file_age_seconds
            t, pages = arrivals[nxt]
            name = f"f{nxt}.pdf"
            arrival_of[name] = t
            waiting.append(batching.WaitingFile(name, 1, t, pages, first_seen=now))
            nxt += 1
        if waiting:
            res.ticks += 1
            t0 = time.perf_counter() if time_ticks else 0.0
            planned, history, _ = batching.dispatch(waiting, settings, history, now=now,
                                                    slot_free=len(running) + len(queue) < model.slots,
                                                    partitions_used=partitions)
            if time_ticks:
                res.tick_seconds.append(time.perf_counter() - t0)
            for files in planned:
                pages = sum(f.pages for f in files)
                res.batches.append((now, pages, len(files)))
                queue.append(([f.path for f in files], model.fixed_seconds + model.seconds_per_page * pages))
            partitions += len(planned)
            if planned:
                claimed = {f.path for files in planned for f in files}
                waiting = [f for f in waiting if f.path not in claimed]
        if nxt >= len(arrivals) and not waiting and not queue and not running:
            break
        now = _next_tick(now, arrivals, nxt, waiting, running, queue)
    res.latencies = [done_at[n] - a for n, a in arrival_of.items() if n in done_at]
    res.stranded = len(arrivals) - len(res.latencies)
    last = f"f{len(arrivals) - 1}.pdf"
    res.last_latency = done_at.get(last, math.inf) - arrival_of.get(last, 0.0)
    return res


def _next_tick(now, arrivals, nxt, waiting, running, queue) -> float:
    """The next sensor tick at which anything can change. Ticks with an empty inbox and no run ending
    decide nothing (the sensor skips them), so the clock jumps over them in whole ticks."""
    step = now + TICK
    if waiting or queue:
        return step
    candidates = [arrivals[nxt][0] + 1.0] if nxt < len(arrivals) else []
    candidates += [running[0]] if running else []
    if not candidates:
        return step
    target = max(step, min(candidates))
    return now + math.ceil((target - now) / TICK) * TICK


# ---- reporting -------------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def sustained_per_million(res: Result, arrivals: list[tuple[float, int]]) -> float:
    """Batches per million documents while arrivals are sustained: after the first hour, before the last."""
    start, stop = arrivals[0][0] + HOUR, arrivals[-1][0]
    if stop - start < HOUR:
        return math.nan
    cut = [files for t, _, files in res.batches if start <= t < stop]
    return len(cut) / sum(cut) * 1e6 if cut else math.nan


def offered_load(arrivals: list[tuple[float, int]], model: RunModel) -> float:
    """Pages/s arriving ÷ pages/s the runs can do with 1,000-page batches (> 1: over capacity)."""
    span = max(arrivals[-1][0] - arrivals[0][0], 1.0)
    capacity = model.slots * 1000 / (model.fixed_seconds + 1000 * model.seconds_per_page)
    return sum(p for _, p in arrivals) / span / capacity


def minutes(seconds: float) -> str:
    return f"{seconds / 60:7.1f}" if seconds >= 60 else f"{seconds:5.0f} s"


def report(name: str, arrivals, res: Result, model: RunModel) -> None:
    docs = len(arrivals)
    pages = [p for _, p, _ in res.batches]
    print(f"{name:<34} {offered_load(arrivals, model):>5.2f} {docs:>8,} {len(res.batches) / docs * 1e6:>9,.0f} {sustained_per_million(res, arrivals):>9,.0f} "
          f"{statistics.median(pages):>7,.0f} {pct(pages, .95):>7,.0f} {minutes(statistics.median(res.latencies)):>8} "
          f"{minutes(pct(res.latencies, .95)):>8} {res.stranded:>5}")


HEADER = (f"{'pattern (10-page PDFs)':<34} {'load':>5} {'docs':>8} {'batch/1M':>9} {'sust/1M':>9} {'pg med':>7} {'pg p95':>7} "
          f"{'lat med':>8} {'lat p95':>8} {'lost':>5}\n"
          "   (load: pages arriving ÷ what the runs can do, > 1 = over capacity; batch/1M: batches per million "
          "docs over the run;\n    sust/1M: while arrivals are sustained; lat: arrival → batch done, minutes)")


def patterns(quick: bool) -> list[tuple[str, list[tuple[float, int]]]]:
    n = 4_000 if quick else 20_000
    return [
        ("constant 1 PDF/min", constant(1 / MIN, n)),
        ("constant 2 PDFs/min", constant(2 / MIN, n)),
        ("constant 10 PDFs/min", constant(10 / MIN, n)),
        ("constant 1 PDF/s", constant(1.0, 5 * n)),
        ("constant 10 PDFs/s (1 h)", constant(10.0, 36_000)),
        ("poisson 1 PDF/min", poisson(1 / MIN, n)),
        ("bursts of 1,000 PDFs every 2 h", bursts(1_000, 2 * HOUR, 12)),
        ("day 5/min, night 1 per 15 min (7 d)", day_night(7, 5 / MIN, 1 / (15 * MIN))),
        ("1 PDF per 5 min (below 1/min)", constant(1 / (5 * MIN), 2_000)),
    ]


def lone_pdf_checks(settings, model) -> None:
    print("\nlone PDF after 10 quiet minutes (arrival → its batch done; target ≤ 30 s):")
    for label, rate in (("after an hour at 1 PDF/s", 1.0), ("after an hour at 1 PDF/min", 1 / MIN),
                        ("after one folder of 200 PDFs", None)):
        arrivals = (bursts(200, HOUR, 1) + [(1.0 + 10 * MIN, 10)] if rate is None
                    else lone_after_quiet(rate, HOUR, 10 * MIN))
        res = simulate(arrivals, settings, model)
        print(f"  {label:<32} {res.last_latency:6.1f} s")
    arrivals = bursts(1_000, HOUR, 1)
    res = simulate(arrivals, settings, model)
    print(f"burst of 10,000 pages into a quiet system: batches {[p for _, p, _ in res.batches]} "
          f"(target: each ≥ 1,000 pages)")


def scale(settings, model) -> None:
    """1M PDFs (10M pages) arriving over 30 days, day/night: what the instance has to hold."""
    print("1M PDFs of 10 pages (10M pages) over 30 days, 16 h day at 2.5× the night rate:")
    per_day = 1_000_000 / 30
    night = per_day / (16 * HOUR * 2.5 + 8 * HOUR)
    arrivals = day_night(30, 2.5 * night, night)
    started = time.perf_counter()
    res = simulate(arrivals, settings, model, time_ticks=True)
    wall = time.perf_counter() - started
    span = (arrivals[-1][0] - arrivals[0][0]) / HOUR
    runs_per_hour = [0] * (int(span) + 2)
    for t, _, _ in res.batches:
        runs_per_hour[int(t // HOUR)] += 1
    pages = [p for _, p, _ in res.batches]
    ticks = sorted(res.tick_seconds)
    print(f"  arrivals: {len(arrivals):,} PDFs at {arrivals and len(arrivals) / span / 3600:.2f} PDF/s on average "
          f"(day {2.5 * night:.2f}/s, night {night:.2f}/s)")
    print(f"  partitions = runs: {len(res.batches):,} ({len(res.batches) / len(arrivals) * 1e6:,.0f} per million PDFs); "
          f"per hour: mean {statistics.mean(runs_per_hour):.1f}, max {max(runs_per_hour)}")
    print(f"  pages per batch: median {statistics.median(pages):,.0f}, p95 {pct(pages, .95):,.0f}, min {min(pages):,}")
    print(f"  arrival → done: median {statistics.median(res.latencies) / 60:.1f} min, "
          f"p95 {pct(res.latencies, .95) / 60:.1f} min; never done: {res.stranded}")
    print(f"  dispatch decision per tick ({res.ticks:,} ticks with files waiting): median "
          f"{statistics.median(ticks) * 1e6:.0f} µs, p99 {pct(ticks, .99) * 1e6:.0f} µs, max {ticks[-1] * 1e3:.1f} ms "
          f"(simulated 30 days in {wall:.0f} s)")
    budget = settings.budget
    print(f"  partition budget {budget:,}: {100 * len(res.batches) / budget:.0f} % used after 1M PDFs")


def real_sensor_ticks(files: int) -> None:
    """The sensor's own tick (dispatch_tick: inbox scan, page counts, decision) on a real inbox of
    `files` one-page PDFs and a real Dagster instance; nothing is cut (min pages out of reach)."""
    import tempfile

    import dagster as dg

    from pipeline_project import samples
    from pipeline_project.defs.documents import sensors
    from pipeline_project.lib.storage import StorageResource

    settings = dispatch_policy.for_engine("slurm", min_pages=10**9)
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        storage = StorageResource(root=tmp)
        for i in range(files):
            samples.born_digital_pdf(storage.inbox / f"p{i:06d}.pdf", pages=1, seed=i)
        cursor, times = None, []
        for _ in range(3):
            t0 = time.perf_counter()
            tick = sensors.dispatch_tick(instance, storage, cursor, now=time.time() + 5, settings=settings)
            times.append((time.perf_counter() - t0, len(tick.waiting)))
            cursor = tick.cursor
        print(f"  real sensor tick, {files:,} PDFs waiting in the inbox: first tick {times[0][0]:.1f} s "
              f"(pages of {times[0][1]:,} counted), next ticks {times[1][0]:.2f} s and {times[2][0]:.2f} s "
              f"(cursor {len(cursor) / 1e3:,.0f} KB); a tick has 60 s, new files are counted for ≤ "
              f"{sensors.COUNT_BUDGET_SECONDS:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=sorted(MODELS), default="local")
    parser.add_argument("--scale", action="store_true", help="1M PDFs over 30 days: partitions, runs, tick times")
    parser.add_argument("--quick", action="store_true", help="fewer documents per pattern")
    parser.add_argument("--budget", type=int, default=30_000, help="partition budget (SQLite default 30,000)")
    args = parser.parse_args()
    settings = dispatch_policy.for_engine(args.engine, budget=args.budget)
    model = MODELS[args.engine]
    print(f"engine {args.engine}: {settings}\nrun model: {model}\n")
    if args.scale:
        scale(settings, model)
        for files in (1_000, 10_000):
            real_sensor_ticks(files)
        return
    print(HEADER)
    for name, arrivals in patterns(args.quick):
        report(name, arrivals, simulate(arrivals, settings, model), model)
    lone_pdf_checks(settings, model)


if __name__ == "__main__":
    main()
