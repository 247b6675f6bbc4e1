"""`pipeline-project drawings compare|progress` (parser built here the way the top-level CLI does)."""

from __future__ import annotations

import argparse
import json

import pytest

from pipeline_project.defs.drawings import cli, progress
from pipeline_project.lib.resources import shared
from pipeline_project.samples import drawings as samples


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pipeline-project")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def home(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))


def test_compare_wait_json_prints_the_final_progress(tmp_path, home, capsys):
    pair = samples.revision_pair(tmp_path / "set", pages=2, seed=14, edits={0: ["add_equipment"]})
    assert run(["drawings", "compare", str(pair.old), str(pair.new), "--name", "rev C", "--wait", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "completed" and printed["name"] == "rev C"
    assert [p["diff_result"]["changes_detected"] for p in printed["pages"]] == [True, False]
    assert "added 'AHU-3'" in printed["pages"][0]["summary"]["summary_text"]
    assert pair.old.exists() and pair.new.exists(), "the user's files stay where they are"

    assert run(["drawings", "progress", printed["job_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == progress.job_progress(shared().warehouse, printed["job_id"])
    assert run(["drawings", "progress", printed["job_id"]]) == 0
    text = capsys.readouterr().out
    assert "completed" in text and "A-101" in text

    # the same pair again: no new work, the same result
    assert run(["drawings", "compare", str(pair.old), str(pair.new), "--wait", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["job_id"] == printed["job_id"]


def test_compare_of_a_bad_file_fails_with_the_reason(tmp_path, home, capsys):
    pair = samples.revision_pair(tmp_path / "set", pages=1, seed=15)
    locked = samples.encrypted_copy(pair.new, tmp_path / "locked.pdf")
    assert run(["drawings", "compare", str(pair.old), str(locked), "--wait"]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "encrypted" in out
    status = cli.status(shared())
    assert status["comparisons"] == {"failed": 1} and "encrypted" in "\n".join(status["lines"])


def test_progress_of_an_unknown_comparison(home, capsys):
    assert run(["drawings", "progress", "0123456789abcdef"]) == 2
    assert "no drawing comparison" in capsys.readouterr().err
