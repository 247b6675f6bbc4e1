"""`pipeline-project status` and `retry` across domains: a download that failed (the file was not there)
is listed with its reason, re-queued and fetched once the file exists, without touching anything else."""

import json

import dagster as dg
import pytest

from pipeline_project import cli
from pipeline_project.defs.ingest.partitions import DOWNLOAD_SLICES
from pipeline_project.samples.file_server import FileServer, make_pdf_bytes


@pytest.fixture
def downloads(data_dir, tmp_path, monkeypatch):
    files = {name: make_pdf_bytes(name) for name in ("a", "b")}
    (tmp_path / "ids.txt").write_text("a\nb\nc\n")
    with FileServer(files) as server:
        monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
        monkeypatch.setenv("PIPELINE_DOWNLOAD_LIST", str(tmp_path / "ids.txt"))
        monkeypatch.setenv("PIPELINE_DOWNLOAD_BASE_URL", server.base_url)
        monkeypatch.setenv("PIPELINE_DOWNLOAD_ATTEMPTS", "1")
        yield server, files


def status(capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_retry_fetches_a_dead_letter_once_it_can(downloads, data_dir, capsys):
    server, files = downloads
    from pipeline_project.definitions import build_definitions
    from pipeline_project.lib.home import get_instance

    instance = get_instance()
    instance.add_dynamic_partitions(DOWNLOAD_SLICES, ["slice-00000"])
    job = build_definitions().resolve_job_def("download_slice_job")
    assert job.execute_in_process(partition_key="slice-00000", instance=instance).success

    before = status(capsys)
    assert before["ledger"]["ingest"]["download"] == {"dead_letter": 1, "done": 2}
    (dead,) = before["dead_letters"]
    assert dead["label"].endswith("/c/c.pdf") and "404" in dead["reason"]

    capsys.readouterr()
    assert cli.main(["retry", "--domain", "ingest"]) == 0  # only failed items: none
    assert "nothing to retry" in capsys.readouterr().out

    server.files["c"] = make_pdf_bytes("c")  # the file appears on the server
    assert cli.main(["retry", "--domain", "ingest", "--dead-letters"]) == 0
    assert "re-queued 1 item(s); 1 of 1 partition(s) re-run" in capsys.readouterr().out
    after = status(capsys)
    assert after["ledger"]["ingest"]["download"] == {"done": 3} and after["dead_letters"] == []
    assert sorted(p.name for p in (data_dir / "inbox").glob("*.pdf")) == ["a.pdf", "b.pdf", "c.pdf"]
    assert server.full_bodies["a"] == 1  # what was done was not fetched again
    with dg.DagsterInstance.get() as inst:  # the retry is a run of the instance, as in the UI
        runs = inst.get_runs(dg.RunsFilter(job_name="download_slice_job"))
        assert len(runs) == 2 and runs[0].tags.get("pipeline_project/retry") == "1"
