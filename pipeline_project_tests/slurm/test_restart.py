"""A SLURM job survives its Dagster run: SIGKILL the run worker while the batch's OCR job sleeps on
the real local cluster; the daemon's retry reattaches to that same job instead of submitting another,
and the batch completes. sacct shows one job for the batch. (Tesseract stands in for olmOCR; the test
payload holds the job RUNNING until the retry has reattached, whatever the machine's load.)"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project.samples.mixed_pdfs import mixed_pdf
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project_tests.defs.documents.helpers import wait_for
from pipeline_project_tests.e2e.test_daemon import _run_pid, daemon  # noqa: F401  (the real daemon)

from .conftest import PAYLOADS, STATE_DIR

pytestmark = [pytest.mark.slurm, pytest.mark.e2e, pytest.mark.timeout(600, method="thread")]
BIN = Path(sys.executable).parent


@pytest.fixture
def project_env(slurm_env, tmp_path):
    """The e2e project (test_daemon.py's), with OCR on the local cluster and a job held RUNNING until released."""
    data = tmp_path / "data"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
               PIPELINE_BATCH_MAX_WAIT_SECONDS="5", PIPELINE_OCR_ENGINE="slurm",
               PIPELINE_SLURM_OCR_PAYLOAD=str(PAYLOADS / "sleeps_then_ocr.py"))
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                   stdout=subprocess.DEVNULL)
    return data, env


def jobs_named(name: str, since: str) -> list[tuple[str, str]]:
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-S", since, "--name", name, "-o", "JobID,State"],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|")[:2]) for line in out.split()]


def test_killed_run_is_retried_onto_the_same_slurm_job(project_env, daemon):
    data, env = project_env
    since = subprocess.run(["date", "+%Y-%m-%dT%H:%M:%S"], capture_output=True, text=True).stdout.strip()
    mixed_pdf(data / "inbox" / "incoming" / "minutes.pdf", "TS")
    home = str(data / "dagster_home")

    def job_sleeping():
        """(run id, run pid, job name, job id) once the batch's job is RUNNING."""
        found = list(data.glob("batches/*/slurm/job.json"))
        if not found:
            return None
        name = json.loads(found[0].read_text())["job_name"]
        out = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-n", name, "-o", "%i"], capture_output=True,
                             text=True).stdout.split()
        with dg.DagsterInstance.from_config(home) as instance:
            runs = instance.get_runs(dg.RunsFilter(job_name="documents_job", statuses=[dg.DagsterRunStatus.STARTED]))
            pid = _run_pid(instance, runs[0].run_id) if runs else None
        return (runs[0].run_id, pid, name, out[0]) if out and pid else None

    run_id, pid, name, job_id = wait_for(job_sleeping, timeout=300, interval=0.5,
                                         what=f"the OCR job to be running (daemon log: {data / 'daemon.log'})")
    os.kill(pid, signal.SIGKILL)  # the run dies; its SLURM job sleeps on

    def retry_waits_on_the_job():
        with dg.DagsterInstance.from_config(home) as instance:
            for retry in instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id})):
                if any(f"reattaching to SLURM job {job_id}" in (e.user_message or "")
                       for e in instance.all_logs(retry.run_id)):
                    return retry.run_id
        return None

    wait_for(retry_waits_on_the_job, timeout=300, interval=1,
             what=f"the retried run to reattach (daemon log: {data / 'daemon.log'})")
    release = STATE_DIR / "release" / job_id
    release.parent.mkdir(exist_ok=True)
    release.touch()  # only now may the job finish: it was RUNNING the whole time the retry started
    try:
        check_the_retry(data, home, run_id, name, job_id, since)
    finally:
        release.unlink()  # job ids start again after a cluster wipe


def check_the_retry(data, home, run_id, name, job_id, since):
    def retry_finished():
        with dg.DagsterInstance.from_config(home) as instance:
            retries = instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))
            return retries if retries and all(r.is_finished for r in retries) else None

    (retry,) = wait_for(retry_finished, timeout=480, interval=2,
                        what=f"the retried run to finish the batch (daemon log: {data / 'daemon.log'})")
    assert retry.status == dg.DagsterRunStatus.SUCCESS
    with dg.DagsterInstance.from_config(home) as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        (batch_id,) = instance.get_materialized_partitions(dg.AssetKey("embeddings"))
        event = instance.get_latest_materialization_event(dg.AssetKey("ocr_jsonl"))
        meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert event.run_id == retry.run_id
    assert meta["slurm_job"] == "reattached" and str(meta["slurm_job_id"]) == job_id
    assert (meta["pages_sent_to_gpu"], meta["pages_text_layer"], meta["pages_ocr"]) == (1, 1, 1)
    assert jobs_named(name, since) == [(job_id, "COMPLETED")]  # one job for the batch, never resubmitted
    assert [p.name for p in (data / "batches" / batch_id / "slurm").glob("attempt-*")] == ["attempt-1"]
