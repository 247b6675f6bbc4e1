"""End to end with the real Dagster daemon: drop PDFs into the inbox, the sensor batches them, the
queued run coordinator launches runs, and embeddings appear; then `dagster job launch` re-runs a
batch from the command line, as the README shows."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project import samples
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project.lib.storage import StorageResource
from pipeline_project_tests.conftest import age
from pipeline_project_tests.defs.documents.helpers import snapshot, wait_for
from pipeline_project_tests.processes import running_daemon

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


@pytest.fixture
def project_env(tmp_path):
    data = tmp_path / "data"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
               PIPELINE_BATCH_MAX_WAIT_SECONDS="5")
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                   stdout=subprocess.DEVNULL)
    return data, env


@pytest.fixture
def daemon(project_env):
    data, env = project_env
    with running_daemon(data, env) as proc:
        yield proc


def embedded_partitions(home: Path) -> set[str]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return set(instance.get_materialized_partitions(dg.AssetKey("embeddings")))


def test_dropped_pdfs_reach_embeddings_with_no_clicks(project_env, daemon):
    data, env = project_env
    inbox = data / "inbox"
    samples.born_digital_pdf(inbox / "incoming" / "memo.pdf", pages=2)
    samples.image_only_pdf(inbox / "incoming" / "fax.pdf", ["Fax from the harbour office", "Berth 4 closed"])

    done = wait_for(lambda: embedded_partitions(data / "dagster_home"), timeout=300, interval=2,
                    what=f"embeddings (daemon log: {data / 'daemon.log'})")
    (batch_id,) = done

    status = subprocess.run([str(BIN / "pipeline-project"), "status", "--json"], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True)
    stages = json.loads(status.stdout)["domains"]["documents"]["stages"]
    assert stages["documents"] == 2 and stages["pages_by_method"] == {"text_layer": 2, "ocr": 1}
    assert stages["embeddings_by_model"]["all-MiniLM-L6-v2"] == stages["chunks"] > 0

    # `dagster job launch` of the documents job for that batch, through the queued run coordinator
    launched = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "documents_job",
         "--tags", json.dumps({"dagster/partition": batch_id})],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert launched.returncode == 0, launched.stderr[-2000:]

    def relaunch_succeeded():
        with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
            runs = instance.get_runs(dg.RunsFilter(job_name="documents_job", tags={"dagster/partition": batch_id}))
            return len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    wait_for(relaunch_succeeded, timeout=240, interval=2, what="the launched run to succeed")
    status = json.loads(subprocess.run([str(BIN / "pipeline-project"), "status", "--json"], env=env,
                                       cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout)
    assert status["domains"]["documents"]["stages"]["documents"] == 2  # re-running a batch duplicates nothing
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        assert instance.get_dynamic_partitions(ocr_batches.name) == [batch_id]


def _run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from the engine event its code server records when it starts the run."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        found = re.search(r"Started process for run \(pid: (\d+)\)", record.event_log_entry.message or "")
        if found:
            return int(found.group(1))
    return None


def test_a_run_killed_mid_ocr_recovers_by_itself(project_env, daemon, tmp_path):
    """SIGKILL the run process of a batch in the middle of OCR: the daemon's run retries finish the batch
    with nobody acting, and the tables equal those of a clean run of the same files."""
    data, env = project_env
    corpus = tmp_path / "corpus"
    for i in range(3):
        samples.born_digital_pdf(corpus / f"memo_{i}.pdf", pages=2, seed=i)
    for i in range(8):
        samples.image_only_pdf(corpus / f"scan_{i}.pdf", [f"Harbour log, page {i}", "Crane 4 inspected"])
    samples.bad_files(corpus / "bad", corpus / "memo_0.pdf")

    clean = StorageResource(root=str(tmp_path / "clean"))
    shutil.copytree(corpus, clean.inbox, dirs_exist_ok=True)
    age(p for p in clean.inbox.rglob("*") if p.is_file())
    clean_env = dict(env, PIPELINE_DATA_DIR=clean.root, DAGSTER_HOME=str(tmp_path / "clean" / "dagster_home"))
    subprocess.run([str(BIN / "pipeline-project"), "drain"], env=clean_env, cwd=PROJECT_ROOT, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)

    shutil.copytree(corpus, data / "inbox", dirs_exist_ok=True)
    home = str(data / "dagster_home")

    def ocr_under_way():
        if not list(data.glob("batches/*/ocr_parts/*.json")):
            return None
        with dg.DagsterInstance.from_config(home) as instance:
            runs = instance.get_runs(dg.RunsFilter(job_name="documents_job", statuses=[dg.DagsterRunStatus.STARTED]))
            return (runs[0].run_id, _run_pid(instance, runs[0].run_id)) if runs else None

    run_id, pid = wait_for(ocr_under_way, timeout=300, interval=0.1, what="OCR of the batch to be under way")
    assert pid, "no pid recorded for the run"
    os.kill(pid, signal.SIGKILL)

    def batch_embedded():
        with dg.DagsterInstance.from_config(home) as instance:
            return instance.get_materialized_partitions(dg.AssetKey("embeddings"))

    (batch_id,) = wait_for(batch_embedded, timeout=420, interval=2,
                           what=f"the batch to be finished by a retry (daemon log: {data / 'daemon.log'})")

    def retry_statuses():
        with dg.DagsterInstance.from_config(home) as instance:
            return [r.status for r in instance.get_runs(dg.RunsFilter(tags={"dagster/parent_run_id": run_id}))]

    # the last materialization lands a moment before its run records success
    wait_for(lambda: dg.DagsterRunStatus.STARTED not in retry_statuses(), timeout=120, interval=0.5,
             what="the retry to end")
    with dg.DagsterInstance.from_config(home) as instance:
        killed = instance.get_run_by_id(run_id)
        assert killed.status == dg.DagsterRunStatus.FAILURE
    assert retry_statuses() == [dg.DagsterRunStatus.SUCCESS]  # retried once, by the daemon
    assert snapshot(StorageResource(root=str(data))) == snapshot(clean)
