"""`pipeline-project retry`: re-queue failed items in the item ledger and re-run their partitions.

Each domain says which job re-runs one of its partitions (`rerun_target` in its jobs.py). The runs go
through the project's Dagster instance, so they show in the UI like any other: here in this process
(default; no daemon needed), or queued for the daemon (`--queue`, the same as `dagster job launch`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipeline_project.lib import domains, ledger, progress
from pipeline_project.lib.resources import Shared, shared
from pipeline_project.lib.warehouse import connect

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RetryReport:
    requeued: dict[str, dict[str, int]] = field(default_factory=dict)  # domain -> partition -> items
    runs: list[dict] = field(default_factory=list)  # {domain, partition, job, success|queued}


def targets(requeued: dict[str, dict[str, int]]) -> list[tuple[str, str, str, str]]:
    """(domain, ledger partition, job name, Dagster partition key) per partition to re-run."""
    out = []
    for domain, partitions in requeued.items():
        jobs = domains.module(domain, "jobs")
        if jobs is None or not hasattr(jobs, "rerun_target"):
            continue
        for partition in partitions:
            job, key = jobs.rerun_target(partition)
            out.append((domain, partition, job, key))
    return out


def _run_here(instance: dg.DagsterInstance, job_name: str, key: str, log) -> bool:
    from pipeline_project.definitions import build_definitions

    job = build_definitions().resolve_job_def(job_name)
    outcome = progress.run_and_follow(
        instance,
        lambda tags: job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False,
                                           tags={**tags, "pipeline_project/retry": "1"}, run_config=progress.QUIET),
        on_materialization=lambda m: log(f"    {m.asset_key.to_user_string()} done"),
        log_file=progress.log_path("retry"))
    return outcome.success


def _queue(job_name: str, key: str) -> bool:
    """Submit to the queued run coordinator (the daemon launches it), as `dagster job launch` does."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "job", "launch", "-w", "workspace.yaml", "-j", job_name,
         "--tags", json.dumps({"dagster/partition": key, "pipeline_project/retry": "1"})],
        cwd=PROJECT_ROOT, capture_output=True, text=True)
    return proc.returncode == 0


def retry(instance: dg.DagsterInstance, *, domain: str | None = None, dead_letters: bool = False,
          queue: bool = False, common: Shared | None = None, log=print) -> RetryReport:
    common = common or shared()
    with connect(common.warehouse) as conn:
        conn.execute("BEGIN TRANSACTION")
        requeued = ledger.requeue(conn, domain=domain, dead_letters=dead_letters)
        conn.execute("COMMIT")
    report = RetryReport(requeued=requeued)
    for dom, partition, job, key in targets(requeued):
        log(f"{dom} {partition}: {requeued[dom][partition]} item(s) re-queued; "
            f"{'queueing' if queue else 'running'} {job} for partition {key}")
        ok = _queue(job, key) if queue else _run_here(instance, job, key, log)
        report.runs.append({"domain": dom, "partition": partition, "job": job, "partition_key": key,
                            "queued" if queue else "success": ok})
    return report
