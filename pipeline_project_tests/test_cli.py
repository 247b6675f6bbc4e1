"""The `pipeline-project` commands a person or script uses."""

import json
from pathlib import Path

import pytest
import yaml

from pipeline_project import cli
from pipeline_project_tests.conftest import age


@pytest.fixture
def project(data_dir, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    return data_dir


def run(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("init", "dev", "serve", "sample", "drain", "search", "status", "retry", "downloads",
                    "observations"):
        assert command in out


def test_drain_then_status_and_search(project, capsys):
    assert run(capsys, "init")[0] == 0
    dagster_yaml = yaml.safe_load((project / "dagster_home" / "dagster.yaml").read_text())
    assert dagster_yaml["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert dagster_yaml["run_retries"]["enabled"] and dagster_yaml["run_monitoring"]["enabled"]
    run(capsys, "sample", "--documents", "2", "--scans", "1", "--with-bad")
    age(p for p in (project / "inbox").rglob("*") if p.is_file())

    code, out = run(capsys, "drain")
    assert code == 0 and "drained 1 batches" in out
    assert "password-protected PDF" in out  # the summary names each quarantined file and why

    code, out = run(capsys, "status", "--json")
    status = json.loads(out)
    documents = status["domains"]["documents"]
    assert documents["stages"]["documents"] == 5 and documents["inbox_waiting"] == 0
    assert status["ledger"]["documents"]["intake"] == {"done": 5, "dead_letter": 5}
    reasons = {q["label"].split("/")[-1]: q["reason"] for q in status["quarantined"]}
    assert set(reasons) == {"empty.pdf", "truncated.pdf", "login_page.pdf", "picture.pdf", "locked.pdf"}
    assert all(Path(q["quarantine_path"]).exists() for q in status["quarantined"])
    assert status["dead_letters"] == [] and status["failed"] == []

    code, out = run(capsys, "search", "Scanned letter about the river survey", "-k", "2", "--json")
    hits = json.loads(out)
    assert len(hits) == 2
    assert hits[0]["source_file"].startswith("scan_") and hits[0]["page"] == 1
    assert {"score", "doc_id", "text", "source_file", "page"} <= set(hits[0])

    # draining again with nothing new does no work and changes nothing
    code, out = run(capsys, "drain")
    assert code == 0 and "drained 0 batches" in out
