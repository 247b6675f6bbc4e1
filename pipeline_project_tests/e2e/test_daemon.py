"""End to end with the real Dagster daemon: drop PDFs into the inbox, the sensor batches them, the
queued run coordinator launches runs, and embeddings appear; then `dagster job launch` re-runs a
batch from the command line, as the README shows."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project import samples
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project_tests.defs.documents.helpers import wait_for

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
    log = open(data / "daemon.log", "w")
    proc = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=PROJECT_ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)  # stop by PID, with its run workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


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
    stages = json.loads(status.stdout)["stages"]
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
    assert status["stages"]["documents"] == 2  # re-running a batch duplicates nothing
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        assert instance.get_dynamic_partitions(ocr_batches.name) == [batch_id]
