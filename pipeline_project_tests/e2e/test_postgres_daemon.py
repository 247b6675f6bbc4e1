"""End to end on the scale-out stores: the Dagster instance on PostgreSQL (dagster-postgres) and the
warehouse on PostgreSQL with pgvector, chosen by configuration only. The real daemon's sensor cuts four
batches from one inbox, the queued run coordinator runs all four at once (they write the warehouse at
the same time), every document ends embedded and `pipeline-project search` finds the scanned page."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project import samples
from pipeline_project_tests import postgres
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project_tests.defs.documents.helpers import wait_for
from pipeline_project_tests.processes import running_daemon

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
RUNS = 4


@pytest.fixture
def pg_env(tmp_path, monkeypatch):
    server = postgres.require_server()
    with postgres.fresh_database(server) as instance_url, postgres.fresh_database(server) as warehouse_url:
        data = tmp_path / "data"
        settings = {"PIPELINE_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home"),
                    "PIPELINE_DAGSTER_PG_URL": instance_url, "PIPELINE_WAREHOUSE_URL": warehouse_url,
                    "PIPELINE_MAX_CONCURRENT_RUNS": str(RUNS), "PIPELINE_BATCH_MIN_PAGES": "4",
                    "PIPELINE_BATCH_MAX_WAIT_SECONDS": "5"}
        for key, value in settings.items():
            monkeypatch.setenv(key, value)  # this process reads the same instance as the daemon
        env = dict(os.environ, **settings)
        subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                       stdout=subprocess.DEVNULL)
        yield data, env
        from pipeline_project.lib.pg import POOL

        POOL.close_idle()


@pytest.fixture
def corpus(pg_env, tmp_path):
    """Four 3-page memos and four 1-page scans, oldest first memo_0, scan_0, memo_1, ...: with batches of
    ≥ 4 pages, exactly four batches of a memo and a scan."""
    data, _ = pg_env
    inbox = data / "inbox"
    stamp = time.time() - 600
    for i in range(RUNS):
        memo = samples.born_digital_pdf(inbox / f"memo_{i}.pdf", pages=3, seed=i)
        scan = samples.image_only_pdf(inbox / f"scan_{i}.pdf", [f"Harbour log {i}: crane {i} inspected",
                                                                f"Berth {i} closed for repairs"])
        for n, path in enumerate((memo, scan)):  # all there, and old enough, before the first tick
            os.utime(path, (stamp + 2 * i + n, stamp + 2 * i + n))
    return inbox


@pytest.fixture
def daemon(pg_env, corpus):
    data, env = pg_env
    with running_daemon(data, env) as proc:
        yield proc


def finished_runs(home: Path) -> list[tuple[dg.RunRecord, float]]:
    """The documents runs with the time each was launched (left the queue), once all have ended."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(dg.RunsFilter(job_name="documents_job"))
        if len(records) != RUNS or any(r.end_time is None for r in records):
            return []
        return [(r, _launched_at(instance, r.dagster_run.run_id)) for r in records]


def _launched_at(instance: dg.DagsterInstance, run_id: str) -> float:
    (event,) = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_STARTING).records
    return event.timestamp


def most_at_once(records: list[dg.RunRecord]) -> int:
    """The most runs in progress (started, not ended) at one moment."""
    return max(sum(1 for o in records if o.start_time <= r.start_time < o.end_time) for r in records)


def cli(env, *args) -> str:
    return subprocess.run([str(BIN / "pipeline-project"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.timeout(1800)  # four runs on two cores take ~5 minutes; a crowded machine, up to 3 times that
def test_four_concurrent_runs_on_postgres(pg_env, daemon):
    data, env = pg_env
    home = data / "dagster_home"
    runs = wait_for(lambda: finished_runs(home), timeout=1500, interval=3,
                    what=f"{RUNS} runs to finish (daemon log: {data / 'daemon.log'})")
    records = [r for r, _ in runs]
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    # the coordinator let all four go at once (each launched before any ended) and they wrote the
    # warehouse at the same time (how many overlap once started depends on how fast processes start)
    assert max(launched for _, launched in runs) < min(r.end_time for r in records)
    assert most_at_once(records) >= 2
    # both stores are Postgres: no SQLite run history, no DuckDB file
    assert not (home / "history").exists() and not (data / "warehouse.duckdb").exists()

    stages = json.loads(cli(env, "status", "--json"))["domains"]["documents"]["stages"]
    assert stages["batches"] == RUNS and stages["documents"] == 2 * RUNS
    assert stages["pages_by_method"] == {"text_layer": 3 * RUNS, "ocr": RUNS}
    assert stages["embeddings_by_model"]["all-MiniLM-L6-v2"] == stages["chunks"] > 0
    assert stages["dead_letters"] == 0

    hits = json.loads(cli(env, "search", "Berth 2 closed for repairs", "-k", "3", "--json"))
    assert hits[0]["source_file"] == "scan_2.pdf" and "Berth 2" in hits[0]["text"]
