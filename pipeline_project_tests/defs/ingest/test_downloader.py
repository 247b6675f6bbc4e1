"""The downloader: list parsing, resumable verified downloads, the ledger, the asset and the sensor."""

import dagster as dg

from pipeline_project.defs.ingest.assets import downloaded_pdfs
from pipeline_project.defs.ingest.downloader import PARTIAL_DIR, SliceDownloader
from pipeline_project.defs.ingest.items import in_scope, parse_list, slices_of
from pipeline_project.defs.ingest.partitions import DOWNLOAD_SLICES
from pipeline_project.defs.ingest.resources import DownloaderResource
from pipeline_project.defs.ingest.sensors import download_slices_sensor
from pipeline_project_tests.defs.ingest.conftest import evaluate_sensor
from pipeline_project.defs.ingest.cli import disk_status
from pipeline_project.defs.ingest.download_ledger import DownloadLedger
from pipeline_project.defs.ingest.jobs import download_slice_job
from pipeline_project.lib import ledger
from pipeline_project.lib.resources import shared
from pipeline_project.samples.file_server import FileServer


def test_parse_list_identifiers_urls_and_csv():
    items = parse_list("# c\nabc\n\nhttps://x.org/a/b.pdf\n", url_template="{base_url}/{id}/{id}.pdf",
                       base_url="http://h/")
    assert [i.url for i in items] == ["http://h/abc/abc.pdf", "https://x.org/a/b.pdf"]
    assert items[0].file_name == "abc.pdf" and items[1].file_name.startswith("b-")
    csv = parse_list("id,sha256,size\nx1,ab,10\nx2,,\n", url_template="{base_url}/{id}.pdf", base_url="u")
    assert (csv[0].sha256, csv[0].size, csv[1].sha256) == ("ab", 10, None)
    window = in_scope(items * 1, start_from=1, max_items=1)
    assert [i.index for i in window] == [1]
    assert list(slices_of(parse_list("a\nb\nc\n", url_template="{id}"), 2)) == ["slice-00000", "slice-00001"]


def runner(downloader, storage, pause=lambda: ""):
    return SliceDownloader(inbox=storage.inbox, ledger=downloader.ledger(), settings=downloader.fetch_settings(),
                           workers=downloader.workers, should_pause=pause)


def test_slice_download_resumes_retries_verifies_and_never_repeats(downloader, storage, server, corpus):
    items = downloader.items()
    report = runner(downloader, storage).run("slice-x", items)
    assert report.downloaded == 12 and report.failed_permanent == 1  # missing404
    assert report.resumed_bytes > 0 and server.range_requests["doc001"] == 1  # resumed, not restarted
    for name, data in corpus.items():
        assert (storage.inbox / f"{name}.pdf").read_bytes() == data
    assert not list((storage.inbox / PARTIAL_DIR).iterdir())  # nothing half-written left behind
    assert server.requests["doc002"] == 2  # 503, then success
    # cleanup deletes the PDFs; a re-run must still not fetch anything again
    for pdf in storage.inbox.glob("*.pdf"):
        pdf.unlink()
    before = sum(server.requests.values())
    again = runner(downloader, storage).run("slice-x", items)
    assert again.already_done == 13 and again.downloaded == 0
    assert sum(server.requests.values()) == before
    assert DownloadLedger(downloader.warehouse).counts()["done"] == 12
    # the item ledger says which download failed and why
    dead = ledger.Ledger(downloader.warehouse, "ingest").rows(states=[ledger.DEAD_LETTER])
    assert [(r.item_id, r.partition_key) for r in dead] == [("missing404", "slice-x")] and "404" in dead[0].last_error


def test_checksum_mismatch_is_not_accepted(tmp_path, storage, warehouse):
    with FileServer({"a": b"%PDF-1.4 real"}) as srv:
        (tmp_path / "l.csv").write_text("id,sha256\na," + "0" * 64 + "\n")
        dl = DownloaderResource(storage=storage, warehouse=warehouse, list_path=str(tmp_path / "l.csv"), base_url=srv.base_url, attempts=2,
                                backoff_initial_seconds=0.01, backoff_max_seconds=0.02)
        report = runner(dl, storage).run("s", dl.items())
    assert report.downloaded == 0 and "sha256 mismatch" in report.failures["a"]
    assert not (storage.inbox / "a.pdf").exists()


def test_per_host_concurrency_limit(tmp_path, storage, warehouse):
    files = {f"f{n}": b"%PDF-1.4 x" * 100 for n in range(8)}
    with FileServer(files, delay=0.05) as srv:
        (tmp_path / "l.txt").write_text("\n".join(files))
        dl = DownloaderResource(storage=storage, warehouse=warehouse, list_path=str(tmp_path / "l.txt"),
                                base_url=srv.base_url, workers=8,
                                per_host_concurrency=2)
        runner(dl, storage).run("s", dl.items())
        assert srv.max_active <= 2 and len(list(storage.inbox.glob("*.pdf"))) == 8


def test_pause_stops_between_files_and_rerun_continues(downloader, storage, server):
    items = downloader.slices()["slice-00000"]
    calls = []

    def pause_after_two():
        calls.append(1)
        return "downloads paused: disk 95% full" if len(calls) > 2 else ""

    dl = downloader.model_copy(update={"workers": 1})
    first = runner(dl, storage, pause_after_two).run("slice-00000", items)
    assert first.downloaded == 2 and first.not_started == 3 and not first.complete
    assert "paused" in first.paused_reason
    second = runner(dl, storage).run("slice-00000", items)
    assert second.already_done == 2 and second.downloaded == 3 and second.complete
    assert max(server.full_bodies.values()) == 1  # no file body sent twice


def test_asset_reports_progress_metadata(downloader, storage, instance):
    instance.add_dynamic_partitions(DOWNLOAD_SLICES, ["slice-00000"])
    result = dg.materialize([downloaded_pdfs], partition_key="slice-00000", instance=instance,
                            resources={"downloader": downloader})
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["downloaded"].value == 5 and meta["complete"].value is True
    assert meta["bytes"].value > 0 and "rate_mb_per_s" in meta and meta["paused_reason"].value == ""


def test_sensor_adds_slices_requests_work_and_pauses_on_full_disk(downloader, storage, instance):
    unconfigured = DownloaderResource(storage=storage, warehouse=downloader.warehouse)
    skip = evaluate_sensor(instance, {"downloader": unconfigured})
    assert isinstance(skip, dg.SkipReason) and "PIPELINE_DOWNLOAD_LIST" in skip.skip_message

    result = evaluate_sensor(instance, {"downloader": downloader})
    assert result.dynamic_partitions_requests[0].partition_keys == ["slice-00000", "slice-00001", "slice-00002"]
    assert [r.partition_key for r in result.run_requests] == ["slice-00000"]  # max_concurrent_slices=1

    # a new resource, not model_copy: Dagster rebuilds resources from their init config
    full = DownloaderResource(**{**downloader.model_dump(exclude={"storage", "warehouse"}), "high_watermark": 0.0001},
                              storage=storage, warehouse=downloader.warehouse)
    skip = evaluate_sensor(instance, {"downloader": full})
    assert isinstance(skip, dg.SkipReason) and "downloads paused" in skip.skip_message

    instance.add_dynamic_partitions(DOWNLOAD_SLICES, ["slice-00000", "slice-00001", "slice-00002"])
    for key in ["slice-00000", "slice-00001", "slice-00002"]:
        runner(downloader, storage).run(key, downloader.slices()[key])
    done = evaluate_sensor(instance, {"downloader": downloader})
    assert isinstance(done, dg.SkipReason) and "all 3 slices downloaded" in done.skip_message


def test_a_slice_whose_run_is_queued_is_not_requested_twice(downloader, instance):
    from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.storage.dagster_run import DagsterRun

    def tick():
        return evaluate_sensor(instance, {"downloader": downloader})

    first = tick()
    (request,) = first.run_requests
    instance.add_dynamic_partitions(DOWNLOAD_SLICES, first.dynamic_partitions_requests[0].partition_keys)
    # the daemon queued that run; it has not started yet
    location = GrpcServerCodeLocationOrigin(host="localhost", port=4000, location_name="pipeline_project")
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), download_slice_job.name)
    run = instance.run_storage.add_run(DagsterRun(
        job_name=download_slice_job.name, status=dg.DagsterRunStatus.QUEUED, remote_job_origin=origin,
        tags={"dagster/partition": request.partition_key, "dagster/run_key": request.run_key}))
    second = tick()
    assert isinstance(second, dg.SkipReason) and "1 slice run(s) in flight" in second.skip_message
    # had it been requested again, the same run key would make the daemon drop it
    assert request.run_key == f"{request.partition_key}#0"
    # once that run has ended (here: paused by the disk watermark), the slice is requested anew
    instance.report_run_failed(run)
    (again,) = tick().run_requests
    assert again.partition_key == request.partition_key and again.run_key == f"{request.partition_key}#1"


def test_disk_status_says_which_setting_frees_space(data_dir, monkeypatch):
    monkeypatch.setenv("PIPELINE_DISK_HIGH_WATERMARK", "0.0001")
    monkeypatch.delenv("PIPELINE_DOWNLOAD_LIST", raising=False)
    monkeypatch.setenv("PIPELINE_DELETE_SOURCE", "never")
    status = disk_status(shared())
    assert status["downloads_paused"] is True and "downloads paused" in status["reason"]
    assert 0 < status["used_fraction"] <= 1 and status["free_bytes"] > 0
    assert "PIPELINE_DELETE_SOURCE=after_ingest" in status["advice"]


def test_with_the_downloader_on_sources_are_deleted_after_ingest_by_default(data_dir, monkeypatch):
    monkeypatch.delenv("PIPELINE_DELETE_SOURCE", raising=False)
    monkeypatch.delenv("PIPELINE_DOWNLOAD_LIST", raising=False)
    assert shared().storage.delete_source == "never"  # nothing downloads: keep what the user dropped
    monkeypatch.setenv("PIPELINE_DOWNLOAD_LIST", str(data_dir / "ids.txt"))
    assert shared().storage.delete_source == "after_ingest"  # else paused downloads could never resume
    monkeypatch.setenv("PIPELINE_DELETE_SOURCE", "never")
    assert shared().storage.delete_source == "never"  # the user's word wins


def test_definitions_load_without_configuration(monkeypatch):
    monkeypatch.delenv("PIPELINE_DOWNLOAD_LIST", raising=False)
    from pipeline_project.definitions import build_definitions

    repo = build_definitions().get_repository_def()
    assert repo.get_sensor_def("download_slices_sensor").default_status == dg.DefaultSensorStatus.STOPPED
