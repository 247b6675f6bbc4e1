"""`pipeline-project bib …` through the domain's own argparse registration (the top-level CLI calls
`register(subparsers)`), against the replay server."""

from __future__ import annotations

import argparse
import json
import threading
import time

import pytest

from pipeline_project.defs.bibliography import cli, dashboard, progress, runner
from pipeline_project.defs.bibliography import resources as bib_resources
from pipeline_project.samples import papers
from pipeline_project.samples.api_replay import CROSSREF, OPENALEX, cited_works


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pipeline-project")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bib", *argv])
    return args.func(args)


@pytest.fixture
def services_env(replay, monkeypatch, data_dir, tmp_path):
    monkeypatch.setenv("PIPELINE_CROSSREF_BASE_URL", replay.base_url(CROSSREF))
    monkeypatch.setenv("PIPELINE_OPENALEX_BASE_URL", replay.base_url(OPENALEX))
    monkeypatch.setenv("PIPELINE_CROSSREF_MAILTO", "tests@example.org")
    monkeypatch.setenv("PIPELINE_OPENALEX_API_KEY", "test-key")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("PIPELINE_BIB_WAIT_SECONDS", "5")
    bib_resources._services.cache_clear()
    yield replay
    bib_resources._services.cache_clear()


def test_extract_json_prints_lists_and_references(suite, capsys):
    truth, _ = suite["author_year_apa"]
    assert run(["extract", str(truth.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["file"] == str(truth.path)
    assert out["lists"] == [{"heading": "References", "pages": truth.lists[0].pages, "style": "author-year",
                             "references": len(truth.references)}]
    first = out["references"][0]
    assert set(first) >= {"text", "page", "authors", "title", "year", "doi"}
    assert first["year"] == truth.references[0].year


def test_extract_says_so_when_there_is_no_list_and_refuses_what_is_not_a_pdf(suite, tmp_path, capsys):
    truth, _ = suite["no_references"]
    assert run(["extract", str(truth.path)]) == 0
    assert "no reference list found" in capsys.readouterr().out
    fake = tmp_path / "login.pdf"
    fake.write_text("<!DOCTYPE html><html><body>Please sign in</body></html>")
    with pytest.raises(SystemExit, match="not a PDF"):
        run(["extract", str(fake)])


def test_watch_folder_processes_what_is_there_and_what_arrives(services_env, tmp_path, capsys):
    watched = tmp_path / "incoming"
    works = cited_works(services_env.catalog, 16, seed=11)
    papers.paper_citing(watched / "first.pdf", [w.text for w in works[:8]], seed=1)
    (watched / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")  # cut off: set aside, the rest goes on
    pipeline_started = threading.Event()
    result: dict = {}

    def watch():
        pipeline_started.set()
        result["code"] = run(["watch-folder", str(watched), "--no-dashboard", "--enrichment-workers", "4"])

    progress.reset()  # counts from earlier runs in this process must not satisfy the waits below
    thread = threading.Thread(target=watch)
    thread.start()
    pipeline_started.wait()
    deadline = time.monotonic() + 480  # a bound for a stuck run, generous for a loaded machine
    while not list(runner._RUNNING) and time.monotonic() < deadline:
        time.sleep(0.1)

    def snapshot() -> dict:
        return progress.PROGRESS.snapshot()  # the run's own progress (it starts a fresh one)
    while time.monotonic() < deadline and snapshot()["stages"]["enrich"]["finished"] < 8:
        time.sleep(0.5)
    papers.paper_citing(watched / "second.pdf", [w.text for w in works[8:]], seed=2)
    while time.monotonic() < deadline and snapshot()["stages"]["enrich"]["finished"] < 16:
        time.sleep(0.5)
    stages = snapshot()["stages"]
    runner.stop_all()  # what Ctrl-C does: the watch ends after the current round
    thread.join(timeout=120)
    assert result.get("code") == 0
    assert stages["documents"]["finished"] == 3  # files taken in, the broken one included
    assert stages["extract"]["finished"] == 2 and stages["enrich"]["finished"] == 16
    assert set(stages["enrich"]["outcomes"]) <= {"matched", "unmatched"}
    out = capsys.readouterr().out
    assert "3 files added" in out and "references   : 16 extracted" in out
    quarantined = [ln for ln in out.splitlines() if ln.startswith("quarantined")]
    assert len(quarantined) == 1 and "broken" in quarantined[0]


def test_dashboard_shows_stages_rates_eta_errors_and_services():
    from rich.console import Console

    board = progress.Progress()
    board.queued("enrich", 10)
    for outcome in ("matched", "matched", "waiting"):
        board.started_item("enrich")
        board.finished("enrich", outcome, "waiting for crossref" if outcome == "waiting" else None)
    board.retried("enrich")
    board.service_state("crossref", {"pool": "polite", "breaker": "open", "pace_per_s": 5, "ceiling_per_s": 10,
                                     "in_flight": 0, "concurrency": 3, "sent": 12, "counts": {"rate_limited": 2}})
    console = Console(record=True, width=140)
    console.print(dashboard.render(board.snapshot()))
    text = console.export_text()
    assert "enrich" in text and "matched 2" in text and "waiting 1" in text
    assert "waiting for crossref" in text and "open" in text and "5/10" in text
    assert "ETA" in text and "per min" in text
    lines = dashboard.plain_lines(board.snapshot())
    assert any("enrich" in ln and "3/10" in ln and "retries 1" in ln for ln in lines)
