"""The whole loop on a real, small filesystem: downloads fill a 20 MiB tmpfs past the high watermark,
downloading pauses (running slice stops between files, sensor skips with the reason), the real
documents chain ingests and then deletes the sources (PIPELINE_DELETE_SOURCE=after_ingest), freeing
space, and downloading resumes; at the end every item arrived exactly once."""

import os
import subprocess

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline_project.defs.documents.drain import drain
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.warehouse import warehouse_from_path
from pipeline_project_tests.conftest import age

from pipeline_project.defs.ingest.assets import downloaded_pdfs
from pipeline_project.defs.ingest.resources import DownloaderResource
from pipeline_project.defs.ingest.sensors import download_slices_sensor
from pipeline_project_tests.defs.ingest.conftest import evaluate_sensor
from pipeline_project.defs.ingest.cli import disk_status
from pipeline_project.lib.resources import shared
from pipeline_project.lib.storage import StorageResource

from pipeline_project.samples.file_server import FileServer, make_pdf_bytes


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "data"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(mnt))
    monkeypatch.setenv("PIPELINE_DISK_HIGH_WATERMARK", "0.5")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def documents_resources(root) -> dict:
    """The real documents chain, deleting each source PDF once its text is verified in DuckDB."""
    storage = StorageResource(root=str(root), delete_source="after_ingest")
    return {"storage": storage, "warehouse": warehouse_from_path(str(storage.warehouse_path)),
            "ocr_engine": LocalOcrEngine(), "embedder": EmbedderResource()}


def cleanup_after_ingest(instance, resources: dict) -> None:
    """The documents pipeline catching up: batch the inbox, ingest, verify, delete the sources."""
    inbox = resources["storage"].inbox
    age(p for p in inbox.iterdir() if p.is_file())
    report = drain(instance, resources, log=lambda message: None)
    assert not report.failed


def ingested_items(storage: StorageResource) -> list[str]:
    with duckdb.connect(str(storage.warehouse_path), read_only=True) as conn:
        return [Path(r[0]).stem for r in conn.execute("SELECT source_file FROM documents").fetchall()]


def test_disk_full_pauses_downloads_and_cleanup_resumes_them(small_disk, tmp_path):
    corpus = {f"item{n:02d}": make_pdf_bytes(f"item{n:02d}", pad_bytes=1_000_000) for n in range(24)}
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join(corpus) + "\n")
    documents = documents_resources(small_disk)
    storage = documents["storage"]
    skips: list[str] = []
    paused_runs = 0
    with FileServer(corpus, drop_first={"item03", "item17"}) as srv, dg.instance_for_test() as instance:
        dl = DownloaderResource(storage=storage, warehouse=documents["warehouse"], list_path=str(listing), base_url=srv.base_url, slice_size=6, workers=1,  # 1 worker: the pause point is deterministic
                                attempts=4, backoff_initial_seconds=0.01, backoff_max_seconds=0.05)
        resources = {"downloader": dl}
        for tick in range(60):
            result = evaluate_sensor(instance, resources)
            if isinstance(result, dg.SkipReason):
                skips.append(result.skip_message)
                if "slices downloaded" in result.skip_message:
                    break
            else:
                for req in result.dynamic_partitions_requests:
                    instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
                for req in result.run_requests:
                    run = dg.materialize([downloaded_pdfs], partition_key=req.partition_key, instance=instance,
                                         resources=resources)
                    meta = run.get_asset_materialization_events()[0].materialization.metadata
                    paused_runs += bool(meta["paused_reason"].value)
            if tick % 3 == 2:  # the documents pipeline lags behind the downloads
                cleanup_after_ingest(instance, documents)
        cleanup_after_ingest(instance, documents)
        ingested = ingested_items(storage)

    assert any("downloads paused" in s for s in skips), skips  # the sensor paused with the reason
    assert paused_runs >= 1  # a running slice stopped between files and reported it
    assert sorted(ingested) == sorted(corpus)  # nothing lost, nothing twice
    assert list(storage.pdf_store.rglob("*.pdf")) == []  # every source deleted after verified ingest
    assert sum(srv.full_bodies.values()) + sum(srv.range_requests.values()) == len(corpus)
    assert not disk_status(shared())["downloads_paused"]
