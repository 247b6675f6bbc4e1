"""Observations benchmark (prints figures; not a test).

    .venv/bin/python benchmarks/observations_bench.py [--files-per-week 10] [--signals 8]
        [--samples 50000] [--workdir benchmarks/out/observations]

Measures, each in a fresh subprocess (peak RSS = that child's ru_maxrss):
  1. ingest MB/s and rows/s, and peak RSS, for a 1-week vs an 8-week dataset (same week size);
  2. per-week seconds of each compute stage (typology .. sql_analysis);
  3. a plain pandas baseline: every file loaded into one DataFrame, same typology.
Half the files are MAT v5, half v7.3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_data(raw: Path, weeks: int, files_per_week: int, k: int, n: int) -> float:
    import numpy as np

    from pipeline_project.samples.matfiles import set_mtime, write_v5, write_v73

    total = 0
    rng = np.random.default_rng(0)
    for w in range(weeks):
        for i in range(files_per_week):
            data = rng.normal(size=(n, k)).cumsum(axis=0)
            t = np.arange(n) / 100.0
            path = raw / f"w{w}" / f"f{i:03d}.mat"
            if i % 2:
                write_v73(path, {"t": t, "X": data})
            else:
                write_v5(path, {"t": t, "X": data})
            set_mtime(path, dt.datetime(2023, 1, 2, 1) + dt.timedelta(days=7 * w, minutes=10 * i))
            total += path.stat().st_size
    return total / 1e6


def write_config(root: Path, name: str) -> Path:
    import yaml

    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name,
        "paths": {"raw_dir": str(root / "raw" / name), "output_dir": str(root / "out" / name)},
        "partitioning": {"start": "2023-01-02", "files_per_flush": 5},
    }))
    return path


def child(mode: str, config: str) -> dict:
    """Run one measurement in a subprocess; returns its JSON plus the child's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    env = dict(os.environ, PIPELINE_DATA_DIR=str(Path(config).parent / "data"))  # its own warehouse (ledger)
    out = subprocess.run([sys.executable, __file__, "--worker", mode, config],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # RUSAGE_CHILDREN is the max over all children so far: runs go smallest first, and we
    # also report the child's own VmHWM, which is exact
    result["peak_rss_mb"] = result.get("vmhwm_mb") or max(before, after) / 1024
    return result


def _vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker(mode: str, config_path: str) -> None:
    from pipeline_project.defs.observations import files, stages
    from pipeline_project.defs.observations.config import load_config
    from pipeline_project.defs.observations.resources import observations_store

    config = load_config(config_path)
    store = observations_store()
    weeks = files.files_by_week(config)
    result: dict = {}
    if mode == "ingest":
        t0 = time.perf_counter()
        rows = mb = 0
        for key, week_files in weeks.items():
            report = stages.ingest(config, key, store.warehouse, store.storage_root, week_files=week_files)
            rows += report.rows
            mb += report.bytes_read / 1e6
        secs = time.perf_counter() - t0
        result = {"weeks": len(weeks), "rows": rows, "mb": mb, "seconds": secs,
                  "mb_per_s": mb / secs, "rows_per_s": rows / secs}
    elif mode == "compute":
        key = next(iter(weeks))
        for name, fn in [("typology", stages.typology), ("classification", stages.classify),
                         ("manifest", stages.build_manifest), ("manifold", stages.compute_manifold),
                         ("sql_analysis", stages.sql_analysis)]:
            t0 = time.perf_counter()
            fn(config, key, store.warehouse)
            result[name] = round(time.perf_counter() - t0, 3)
    elif mode == "pandas":
        import h5py
        import numpy as np
        import pandas as pd
        import scipy.io

        from pipeline_project.defs.observations import measures

        t0 = time.perf_counter()
        frames = []
        for week_files in weeks.values():
            for raw in week_files:
                try:
                    mat = scipy.io.loadmat(str(raw.path))
                    x = mat["X"]
                except NotImplementedError:
                    with h5py.File(raw.path, "r") as f:
                        x = f["X"][()].T
                frames.append(pd.DataFrame(x, columns=[f"X_{i}" for i in range(x.shape[1])]))
        whole = pd.concat(frames, ignore_index=True)
        load = time.perf_counter() - t0
        first_week = len(next(iter(weeks.values())))
        n_week = sum(len(f) for f in frames[:first_week])
        measures.typology_table({c: whole[c].to_numpy()[:n_week] for c in whole.columns})
        result = {"load_seconds": load, "typology_seconds": time.perf_counter() - t0 - load,
                  "rows": int(whole.size), "mb_per_s": sum(r.size for w in weeks.values() for r in w) / 1e6 / load}
        del whole, frames
        np.zeros(1)
    result["vmhwm_mb"] = _vmhwm_mb()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "CONFIG"))
    parser.add_argument("--files-per-week", type=int, default=10)
    parser.add_argument("--signals", type=int, default=8)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--workdir", default=str(ROOT / "benchmarks" / "out" / "observations"))
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    import shutil

    root = Path(args.workdir)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"data: {args.files_per_week} files/week x {args.signals} signals x {args.samples} samples "
          f"(= {args.files_per_week * args.signals * args.samples:,} rows/week)")
    sizes = {}
    for name, weeks in [("one_week", 1), ("eight_weeks", 8)]:
        sizes[name] = make_data(root / "raw" / name, weeks, args.files_per_week, args.signals, args.samples)
        write_config(root, name)
    results = {}
    for name in ("one_week", "eight_weeks"):
        results[name] = r = child("ingest", str(root / f"{name}.yaml"))
        print(f"ingest {name:12}: {r['weeks']} week(s), {r['mb']:.0f} MB, {r['rows']:,} rows in "
              f"{r['seconds']:.1f} s -> {r['mb_per_s']:.1f} MB/s, {r['rows_per_s']:,.0f} rows/s, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    ratio = results["eight_weeks"]["peak_rss_mb"] / results["one_week"]["peak_rss_mb"]
    print(f"peak RSS 8 weeks / 1 week: {ratio:.2f}x (target <= 1.25x)")
    stages_ = child("compute", str(root / "one_week.yaml"))
    print("compute seconds for one week: " + ", ".join(f"{k} {v}" for k, v in stages_.items()
                                                        if k not in ("vmhwm_mb", "peak_rss_mb"))
          + f"; peak RSS {stages_['peak_rss_mb']:.0f} MB")
    for name in ("one_week", "eight_weeks"):
        b = child("pandas", str(root / f"{name}.yaml"))
        print(f"pandas baseline {name:12}: load all files {b['load_seconds']:.1f} s "
              f"({b['mb_per_s']:.1f} MB/s), typology of week 1 {b['typology_seconds']:.1f} s, "
              f"peak RSS {b['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
