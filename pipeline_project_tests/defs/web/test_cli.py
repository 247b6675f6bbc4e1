from __future__ import annotations

import argparse
import json

from pipeline_project.defs.web import cli
from pipeline_project.lib.resources import shared
from pipeline_project_tests.defs.web.conftest import crawl_site


def _parser():
    parser = argparse.ArgumentParser(prog="pipeline-project")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_commands_parse():
    args = _parser().parse_args(["crawl", "run", "site.yaml", "--pages", "3", "--mode", "batch"])
    assert (args.func, args.config, args.pages, args.mode) == (cli.cmd_crawl_run, "site.yaml", 3, "batch")
    assert _parser().parse_args(["graph", "stats", "--json"]).func is cli.cmd_graph_stats


def test_status_shows_each_crawls_progress_line(site, data_dir, capsys):
    crawl_site(site, data_dir, name="shown", pages=3)
    part = cli.status(shared())
    (line,) = part["lines"]
    assert line.startswith("shown (finished): Progress: Files=3, Docs=0, Chunks=0, Embeddings=0, Errors=")
    assert cli.main(["crawl", "status", "shown", "--json"]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    assert summary["counts"]["saved"] == 3


def test_graph_stats_json(bolt_server, monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_NEO4J_URI", bolt_server["uri"])
    monkeypatch.setenv("PIPELINE_NEO4J_USER", bolt_server["user"])
    monkeypatch.setenv("PIPELINE_NEO4J_PASSWORD", bolt_server["password"])
    monkeypatch.setenv("PIPELINE_NEO4J_DATABASE", bolt_server["database"])
    assert cli.main(["graph", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert set(stats) == {"server", "nodes", "relationships"}


def test_graph_commands_explain_when_the_sink_is_off(monkeypatch, capsys):
    monkeypatch.delenv("PIPELINE_NEO4J_URI", raising=False)
    monkeypatch.delenv("USE_NEO4J", raising=False)
    assert cli.main(["graph", "stats"]) == 2
    assert "graph sink is off" in capsys.readouterr().err
