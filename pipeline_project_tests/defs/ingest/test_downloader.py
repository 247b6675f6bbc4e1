"""The downloader: list parsing, resumable verified downloads, the ledger, the asset and the sensor."""

import dagster as dg

from pipeline_project.defs.ingest.assets import downloaded_pdfs
from pipeline_project.defs.ingest.downloader import PARTIAL_DIR, SliceDownloader
from pipeline_project.defs.ingest.items import in_scope, parse_list, slices_of
from pipeline_project.defs.ingest.partitions import DOWNLOAD_SLICES
from pipeline_project.defs.ingest.resources import DownloaderResource
from pipeline_project.defs.ingest.sensors import download_slices_sensor
from pipeline_project.defs.ingest.status import disk_status, download_status

from .http_server import FileServer


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
    assert download_status()["done"] == 12


def test_checksum_mismatch_is_not_accepted(tmp_path, storage, data_dir):
    with FileServer({"a": b"%PDF-1.4 real"}) as srv:
        (tmp_path / "l.csv").write_text("id,sha256\na," + "0" * 64 + "\n")
        dl = DownloaderResource(list_path=str(tmp_path / "l.csv"), base_url=srv.base_url, attempts=2,
                                backoff_initial_seconds=0.01, backoff_max_seconds=0.02)
        report = runner(dl, storage).run("s", dl.items())
    assert report.downloaded == 0 and "sha256 mismatch" in report.failures["a"]
    assert not (storage.inbox / "a.pdf").exists()


def test_per_host_concurrency_limit(tmp_path, storage, data_dir):
    files = {f"f{n}": b"%PDF-1.4 x" * 100 for n in range(8)}
    with FileServer(files, delay=0.05) as srv:
        (tmp_path / "l.txt").write_text("\n".join(files))
        dl = DownloaderResource(list_path=str(tmp_path / "l.txt"), base_url=srv.base_url, workers=8,
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
    ctx = dg.build_sensor_context(instance=instance, resources={"downloader": DownloaderResource()})
    skip = download_slices_sensor(ctx)
    assert isinstance(skip, dg.SkipReason) and "PIPELINE_DOWNLOAD_LIST" in skip.skip_message

    ctx = dg.build_sensor_context(instance=instance, resources={"downloader": downloader})
    result = download_slices_sensor(ctx)
    assert result.dynamic_partitions_requests[0].partition_keys == ["slice-00000", "slice-00001", "slice-00002"]
    assert [r.partition_key for r in result.run_requests] == ["slice-00000"]  # max_concurrent_slices=1

    full = DownloaderResource(**{**downloader.model_dump(), "high_watermark": 0.0001})  # new instance: Dagster rebuilds resources from their init config
    skip = download_slices_sensor(dg.build_sensor_context(instance=instance, resources={"downloader": full}))
    assert isinstance(skip, dg.SkipReason) and "downloads paused" in skip.skip_message

    instance.add_dynamic_partitions(DOWNLOAD_SLICES, ["slice-00000", "slice-00001", "slice-00002"])
    for key in ["slice-00000", "slice-00001", "slice-00002"]:
        runner(downloader, storage).run(key, downloader.slices()[key])
    done = download_slices_sensor(dg.build_sensor_context(instance=instance, resources={"downloader": downloader}))
    assert isinstance(done, dg.SkipReason) and "all 3 slices downloaded" in done.skip_message


def test_disk_status_for_the_cli(data_dir, monkeypatch):
    monkeypatch.setenv("PIPELINE_DISK_HIGH_WATERMARK", "0.0001")
    status = disk_status()
    assert status["downloads_paused"] is True and "downloads paused" in status["reason"]
    assert 0 < status["used_fraction"] <= 1 and status["free_bytes"] > 0


def test_definitions_load_without_configuration(monkeypatch):
    monkeypatch.delenv("PIPELINE_DOWNLOAD_LIST", raising=False)
    from pipeline_project.defs.ingest.definitions import defs

    repo = defs.get_repository_def()
    assert repo.get_sensor_def("download_slices_sensor").default_status == dg.DefaultSensorStatus.STOPPED
