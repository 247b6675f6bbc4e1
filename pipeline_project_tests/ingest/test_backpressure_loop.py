"""The whole loop on a real, small filesystem: downloads fill a 20 MiB tmpfs past the high watermark,
downloading pauses (running slice stops between files, sensor skips with the reason), cleanup after
ingest frees space, downloading resumes; at the end every item arrived exactly once."""

import os
import subprocess

import dagster as dg
import pytest

from pipeline_project.ingest.assets import downloaded_pdfs
from pipeline_project.ingest.resources import DownloaderResource
from pipeline_project.ingest.sensors import download_slices_sensor
from pipeline_project.ingest.status import disk_status
from pipeline_project.resources.storage import StorageResource

from .http_server import FileServer, make_pdf_bytes


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


def cleanup_after_ingest(storage: StorageResource, corpus: dict[str, bytes], ingested: list[str]) -> None:
    """What the documents asset does with PIPELINE_DELETE_SOURCE=after_ingest: verify, then delete."""
    for pdf in sorted(storage.inbox.glob("*.pdf")):
        assert pdf.read_bytes() == corpus[pdf.stem]  # complete and intact, never half-written
        ingested.append(pdf.stem)
        pdf.unlink()


def test_disk_full_pauses_downloads_and_cleanup_resumes_them(small_disk, tmp_path):
    corpus = {f"item{n:02d}": make_pdf_bytes(f"item{n:02d}", pad_bytes=1_000_000) for n in range(24)}
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join(corpus) + "\n")
    storage = StorageResource(root=str(small_disk))
    ingested: list[str] = []
    skips: list[str] = []
    paused_runs = 0
    with FileServer(corpus, drop_first={"item03", "item17"}) as srv, dg.instance_for_test() as instance:
        dl = DownloaderResource(list_path=str(listing), base_url=srv.base_url, slice_size=6, workers=1,  # 1 worker: the pause point is deterministic
                                attempts=4, backoff_initial_seconds=0.01, backoff_max_seconds=0.05)
        resources = {"downloader": dl}
        for tick in range(60):
            result = download_slices_sensor(dg.build_sensor_context(instance=instance, resources=resources))
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
                cleanup_after_ingest(storage, corpus, ingested)
        cleanup_after_ingest(storage, corpus, ingested)

    assert any("downloads paused" in s for s in skips), skips  # the sensor paused with the reason
    assert paused_runs >= 1  # a running slice stopped between files and reported it
    assert sorted(ingested) == sorted(corpus)  # nothing lost, nothing twice
    assert sum(srv.full_bodies.values()) + sum(srv.range_requests.values()) == len(corpus)
    assert not disk_status()["downloads_paused"]
