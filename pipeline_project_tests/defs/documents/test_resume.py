"""SIGKILL a run in the middle of a batch, run again: identical tables, no duplicates, nothing lost."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_project import samples
from pipeline_project.lib.storage import StorageResource
from pipeline_project_tests.conftest import age
from pipeline_project_tests.defs.documents.helpers import snapshot, wait_for


def corpus(folder: Path) -> None:
    for i in range(12):
        samples.born_digital_pdf(folder / f"paper_{i:02d}.pdf", pages=4, seed=i)
    for i in range(6):
        samples.image_only_pdf(folder / f"scan_{i}.pdf", [f"Scanned page {i}", "Bridge survey notes, week 12"])
    samples.bad_files(folder / "bad", folder / "paper_00.pdf")


def drain(data: Path) -> subprocess.Popen:
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"))
    log = open(data / "drain.log", "a")  # a file, not a pipe: a full pipe would stall the run
    return subprocess.Popen([sys.executable, "-m", "pipeline_project.cli", "drain"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)


def prepared(root: Path, source: Path) -> StorageResource:
    storage = StorageResource(root=str(root))
    shutil.copytree(source, storage.inbox, dirs_exist_ok=True)
    age(p for p in storage.inbox.rglob("*") if p.is_file())
    return storage


@pytest.mark.parametrize("kill_when", ["ocr_in_progress", "after_documents_ingested"])
def test_killed_run_rerun_gives_the_same_tables(tmp_path, kill_when):
    source = tmp_path / "corpus"
    corpus(source)
    clean = prepared(tmp_path / "clean", source)
    assert drain(clean.root_path).wait(timeout=600) == 0
    expected = snapshot(clean)

    killed = prepared(tmp_path / "killed", source)
    proc = drain(killed.root_path)
    marker = {
        "ocr_in_progress": lambda: list(killed.root_path.glob("batches/*/ocr_parts/*.json")),
        "after_documents_ingested": lambda: list(killed.root_path.glob("documents/*/*.json")),
    }[kill_when]
    wait_for(lambda: marker() or proc.poll() is not None, timeout=300, interval=0.05, what=kill_when)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    rerun = drain(killed.root_path)
    assert rerun.wait(timeout=600) == 0, (killed.root_path / "drain.log").read_text()[-3000:]
    assert snapshot(killed) == expected
    assert len(expected["documents"]) == 20 and len(expected["embeddings"]) == len(expected["chunks"])
    assert sorted(p.name for p in killed.quarantine.rglob("*.pdf")) == sorted(
        p.name for p in clean.quarantine.rglob("*.pdf"))
