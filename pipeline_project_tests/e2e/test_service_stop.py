"""`pipeline-project dev` stopped like a service: Ctrl-C (SIGINT to its process group, as a terminal
sends it) while a batch is in flight (being OCR'd, or past OCR and waiting for the embedding model) and
an observations week waits in the run queue leaves no process behind — UI, code servers, daemon, run
worker, Tesseract — and the next start finishes the interrupted batch by itself, exactly once, with
tables equal to a clean run's, and runs the queued week once. The second start is then stopped with
SIGTERM, as a service manager does.

The embedding model's pool has no slot during the first start, so the batch cannot finish before the
stop however fast this machine OCRs it (a race the test would otherwise lose on a quiet machine and
win under load, or the reverse); the second start gives the pool its slot back."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import psutil
import pytest

from pipeline_project import samples
from pipeline_project.lib import resume
from pipeline_project.lib.home import EMBEDDING_POOL
from pipeline_project.lib.storage import StorageResource
from pipeline_project.samples.matfiles import make_dataset
from pipeline_project_tests.conftest import PROJECT_ROOT, age
from pipeline_project_tests.defs.documents.helpers import snapshot, table, wait_for
from pipeline_project_tests.defs.observations.conftest import write_config

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
MARK = "PIPELINE_TEST_SERVICE_MARK"  # every process started under a test's dev inherits it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked(mark: str) -> list[psutil.Process]:
    """Every live process that inherited this test's mark (however far it wandered from the tree)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get(MARK) == mark and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            pass
    return found


def still_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


class Dev:
    """`pipeline-project dev` in its own process group, as a terminal would run it."""

    def __init__(self, env: dict, log: Path):
        self.mark = env[MARK]
        self.log_path = log
        self.proc = subprocess.Popen(
            [str(BIN / "pipeline-project"), "dev", "--port", str(free_port()), "--web-port", str(free_port())],
            cwd=PROJECT_ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)

    def everything(self) -> list[psutil.Process]:
        try:
            tree = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.Error:
            tree = []
        return list({p.pid: p for p in tree + marked(self.mark)}.values())

    def stop(self, sig: int) -> list[psutil.Process]:
        """Signal the process group; returns what was running just before (for the caller to check)."""
        before = self.everything()
        os.killpg(self.proc.pid, sig)
        return before

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:  # cleanup after a failed assertion: nothing may outlive the test
        for p in self.everything():
            try:
                p.kill()
            except psutil.Error:
                pass


def all_gone(dev: Dev, before: list[psutil.Process]) -> bool:
    return not still_running(before) and not marked(dev.mark)


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    for i in range(2):
        samples.born_digital_pdf(folder / f"memo_{i}.pdf", pages=2, seed=i)
    for i in range(6):
        samples.image_only_pdf(folder / f"scan_{i}.pdf", [f"Harbour log, page {i}", "Crane 4 inspected"])
    samples.bad_files(folder / "bad", folder / "memo_0.pdf")
    return folder


@pytest.fixture
def clean_tables(tmp_path, corpus):
    """The tables of the same files drained in one go, with no interruption. The drain runs while the
    test goes on; calling the returned function waits for it and reads the tables."""
    clean = StorageResource(root=str(tmp_path / "clean"))
    shutil.copytree(corpus, clean.inbox, dirs_exist_ok=True)
    age(p for p in clean.inbox.rglob("*") if p.is_file())
    env = dict(os.environ, PIPELINE_DATA_DIR=clean.root, DAGSTER_HOME=str(tmp_path / "clean" / "dagster_home"))
    drain = subprocess.Popen([str(BIN / "pipeline-project"), "drain"], env=env, cwd=PROJECT_ROOT,
                             stdout=subprocess.DEVNULL)

    def tables() -> dict:
        assert drain.wait(timeout=600) == 0
        return documents_tables(clean.root)

    yield tables
    if drain.poll() is None:
        drain.kill()
        drain.wait()


@pytest.fixture
def project(tmp_path):
    data = tmp_path / "data"
    # one run at a time, so the observations week waits in the queue while the batch is in flight
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
               PIPELINE_BATCH_MAX_WAIT_SECONDS="5", PIPELINE_MAX_CONCURRENT_RUNS="1", **{MARK: uuid.uuid4().hex})
    env.pop("PIPELINE_OBSERVATIONS_CONFIGS", None)  # the dataset below, in the data dir
    write_config(data, "demo", sensor={"minimum_interval_seconds": 5})
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                   stdout=subprocess.DEVNULL)
    embedding_slots(str(data / "dagster_home"), 0)  # the batch stays in flight until the test stops dev
    started: list[Dev] = []
    yield data, env, started
    for dev in started:
        dev.kill()


def embedding_slots(home: str, slots: int) -> None:
    with dg.DagsterInstance.from_config(home) as instance:
        instance.event_log_storage.set_concurrency_slots(EMBEDDING_POOL, slots)


DOCUMENTS_ASSETS = {dg.AssetKey(k) for k in ("raw_pdfs", "ocr_jsonl", "documents", "chunks", "embeddings")}


def runs_of(home: str, partition: str) -> list[dg.DagsterRun]:
    """Every run that worked on this batch's documents assets, oldest first: the documents job's, and
    any an automation sensor launched for them."""
    with dg.DagsterInstance.from_config(home) as instance:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": partition}))
    return [r for r in reversed(runs)
            if r.job_name == "documents_job" or (r.asset_selection and r.asset_selection & DOCUMENTS_ASSETS)]


def documents_tables(root: str) -> dict:
    tables = snapshot(StorageResource(root=root))
    tables["ledger"] = [row for row in tables["ledger"] if row[0] == "documents"]  # the week has its own
    return tables


def week_runs(home: str) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(home) as instance:
        return list(instance.get_runs(dg.RunsFilter(tags={"observations/dataset": "demo"})))


def test_ctrl_c_stops_everything_and_the_batch_resumes_once(project, corpus, clean_tables):
    data, env, started = project
    home = str(data / "dagster_home")
    shutil.copytree(corpus, data / "inbox", dirs_exist_ok=True)
    dev = Dev(env, data / "dev1.log")
    started.append(dev)

    def ocr_under_way():
        if not list(data.glob("batches/*/ocr_parts/*.json")):
            return None
        with dg.DagsterInstance.from_config(home) as instance:
            return instance.get_runs(dg.RunsFilter(job_name="documents_job", statuses=[dg.DagsterRunStatus.STARTED]))

    (run,) = wait_for(ocr_under_way, timeout=420, interval=0.5, what="OCR to be under way", log=dev.log_path)
    batch = run.tags["dagster/partition"]
    make_dataset(data / "raw" / "demo", weeks=1, files_per_week=2, n=600)  # one week of recordings
    (week_run,) = wait_for(lambda: [r for r in week_runs(home) if r.status == dg.DagsterRunStatus.QUEUED],
                           timeout=180, interval=0.5, what="the observations week to be queued", log=dev.log_path)
    with dg.DagsterInstance.from_config(home) as instance:
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, "the batch should be in flight"
    before = dev.stop(signal.SIGINT)
    assert any("tesseract" in " ".join(p.cmdline()) or "multiprocessing" in " ".join(p.cmdline())
               for p in still_running(before)), "the run's worker should have been running"
    wait_for(lambda: all_gone(dev, before), timeout=10, interval=0.2,
             what="every process of `pipeline-project dev` to end", log=dev.log_path)
    assert dev.proc.wait(timeout=5) == 0
    said = dev.output()
    assert re.search(rf"in flight.*\n.*documents_job partition {batch}", said), said[-2000:]
    assert "resume" in said

    (interrupted,) = [r for r in runs_of(home, batch) if r.run_id == run.run_id]
    assert interrupted.status == dg.DagsterRunStatus.FAILURE
    assert interrupted.tags[resume.INTERRUPTED] == "stop"

    embedding_slots(home, 1)
    dev = Dev(env, data / "dev2.log")
    started.append(dev)

    def batch_embedded():
        with dg.DagsterInstance.from_config(home) as instance:
            return batch in instance.get_materialized_partitions(dg.AssetKey("embeddings"))

    # generous: after the restart the queued week runs first, then the batch (one run at a time)
    wait_for(batch_embedded, timeout=900, interval=2, what="the interrupted batch to finish", log=dev.log_path)
    runs = runs_of(home, batch)
    assert [r.run_id for r in runs][0] == run.run_id
    (resumed,) = runs[1:]  # exactly once: one more run of that batch, the resume
    assert resumed.tags[resume.RESUMES] == run.run_id
    assert resumed.parent_run_id == run.run_id
    wait_for(lambda: runs_of(home, batch)[1].status == dg.DagsterRunStatus.SUCCESS, timeout=120, interval=1,
             what="the resumed run to succeed")
    assert runs_of(home, batch)[0].tags[resume.RESUMED_AS] == resumed.run_id
    assert documents_tables(str(data)) == clean_tables()

    # the week that was waiting in the queue ran after the restart, once
    wait_for(lambda: all(r.status == dg.DagsterRunStatus.SUCCESS for r in week_runs(home)), timeout=240,
             interval=1, what="the queued observations week to run", log=dev.log_path)
    assert [r.run_id for r in week_runs(home)] == [week_run.run_id]
    storage = StorageResource(root=str(data))
    assert table(storage, "SELECT count(*) FROM item_ledger WHERE domain = 'observations' AND state = 'done'")[0][0] > 0

    # A service manager stops with SIGTERM: the same clean stop.
    before = dev.stop(signal.SIGTERM)
    wait_for(lambda: all_gone(dev, before), timeout=10, interval=0.2,
             what="every process to end after SIGTERM", log=dev.log_path)
    assert dev.proc.wait(timeout=5) == 0
    assert "no process left running" in dev.output()
