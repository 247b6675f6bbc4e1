"""How long `pipeline-project dev` takes to stop with a batch in OCR, and what it leaves behind,
against the baseline of plain `dg dev` (what dev ran before it supervised its children) stopped the
same way: SIGINT to the process group, as a terminal's Ctrl-C sends it.

    .venv/bin/python benchmarks/service_bench.py [--scans 6] [--rounds 1]

For each round and each variant: a fresh data dir, the same PDFs dropped in, start, wait until a
documents run is OCR'ing, SIGINT the group, then sample every 0.1 s which processes that inherited
this benchmark's marker are still alive. Prints seconds until the last one ended (or "alive at 60 s"),
and what became of the interrupted run (status; re-queued or not). For `pipeline-project dev` it also
starts again and times until the interrupted batch is embedded (the resume). Machine load is printed
with the figures; numbers on a shared machine are noisy, the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import dagster as dg
import psutil

from pipeline_project import samples

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MARK = "PIPELINE_BENCH_SERVICE_MARK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked(mark: str) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARK) == mark and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except (psutil.Error, OSError):
            pass
    return out


def command(variant: str) -> list[str]:
    if variant == "pipeline-project dev":
        return [str(BIN / "pipeline-project"), "dev", "--port", str(free_port()), "--web-port", str(free_port())]
    return [str(BIN / "dg"), "dev", "--port", str(free_port())]  # the baseline: no supervision


def start(variant: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command(variant), cwd=ROOT, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_ocr(data: Path, home: str, timeout: float = 900) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(data.glob("batches/*/ocr_parts/*.json")):
            with dg.DagsterInstance.from_config(home) as inst:
                runs = inst.get_runs(dg.RunsFilter(job_name="documents_job", statuses=[dg.DagsterRunStatus.STARTED]))
                if runs:
                    return runs[0]
        time.sleep(0.2)
    raise SystemExit("no documents run got to OCR")


def stop_and_watch(proc: subprocess.Popen, mark: str, limit: float = 60.0) -> tuple[float | None, int]:
    """SIGINT to the group; seconds until no marked process is left (None: some alive at the limit)."""
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        alive = [p for p in marked(mark) if p.pid != os.getpid()]
        if not alive:
            return time.monotonic() - t0, 0
        time.sleep(0.1)
    alive = marked(mark)
    for p in alive:  # leave nothing behind ourselves
        try:
            p.kill()
        except psutil.Error:
            pass
    return None, len(alive)


def one_round(variant: str, scans: int, workdir: Path) -> dict:
    data = workdir / "data"
    mark = uuid.uuid4().hex
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
               PIPELINE_BATCH_MAX_WAIT_SECONDS="5", **{MARK: mark})
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    for i in range(scans):
        samples.image_only_pdf(data / "inbox" / f"scan_{i}.pdf", [f"Harbour log, page {i}", "Crane 4 inspected"])
    home = str(data / "dagster_home")
    log = workdir / "dev.log"
    proc = start(variant, env, log)
    run = wait_ocr(data, home)
    seconds, left = stop_and_watch(proc, mark)
    with dg.DagsterInstance.from_config(home) as inst:
        after = inst.get_run_by_id(run.run_id)
        requeued = [r for r in inst.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}))]
    out = {"variant": variant, "stop_seconds": seconds, "alive_after_60s": left, "run_status": after.status.value,
           "requeued": bool(requeued)}
    if variant == "pipeline-project dev":
        batch = run.tags["dagster/partition"]
        t0 = time.monotonic()
        proc = start(variant, env, log)
        while time.monotonic() - t0 < 900:
            with dg.DagsterInstance.from_config(home) as inst:
                if batch in inst.get_materialized_partitions(dg.AssetKey("embeddings")):
                    break
            time.sleep(1)
        out["restart_to_batch_done_seconds"] = time.monotonic() - t0
        out["second_stop_seconds"], _ = stop_and_watch(proc, mark)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}  cores: {os.cpu_count()}")
    results = []
    for _ in range(args.rounds):
        for variant in ("pipeline-project dev", "dg dev (baseline)"):
            workdir = Path(tempfile.mkdtemp(prefix="service_bench_"))
            try:
                results.append(one_round(variant, args.scans, workdir))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            print(results[-1], flush=True)
    print(f"load average after: {os.getloadavg()}")
    for r in results:
        stop = f"{r['stop_seconds']:.1f} s" if r["stop_seconds"] is not None else f"{r['alive_after_60s']} alive at 60 s"
        extra = (f"; restart -> interrupted batch embedded {r['restart_to_batch_done_seconds']:.0f} s; "
                 f"second stop {r['second_stop_seconds']:.1f} s" if "restart_to_batch_done_seconds" in r else "")
        print(f"{r['variant']:<22} stop with a run in OCR: {stop}; run {r['run_status']}, "
              f"{'queued again' if r['requeued'] else 'NOT queued again'}{extra}")


if __name__ == "__main__":
    main()
