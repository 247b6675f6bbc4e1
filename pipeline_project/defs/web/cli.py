"""`pipeline-project crawl ...` and `pipeline-project graph ...`, and the web part of `status`.

crawl run CONFIG [--pages N] [--mode streaming|batch]
    crawl a site and process every saved page here (no daemon needed), printing
    `Progress: Files=…, Docs=…, Chunks=…, Embeddings=…, Errors=…` while it runs
crawl add CONFIG      register the crawl for the UI / `dagster job launch -j web_crawl_job`
crawl status [NAME]   each crawl's last run: counts, errors and skips with reasons
graph stats [--json]  node and relationship counts of the graph sink's server
graph sync            write every batch to the graph again (idempotent)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pipeline_project.lib.resources import Shared


def _latest_runs(root: Path) -> dict[str, Path]:
    out = {}
    for crawl_dir in sorted((root / "web" / "crawls").glob("*")):
        runs = sorted(p for p in (crawl_dir / "runs").glob("*") if p.is_dir())
        if runs:
            out[crawl_dir.name] = runs[-1]
    return out


def _register_crawl(common: Shared, config) -> Path:
    from pipeline_project.defs.web.assets import crawl_config_path
    from pipeline_project.defs.web.config import dump_config

    path = crawl_config_path(common.storage, config.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_config(config), encoding="utf-8")
    return path


def cmd_crawl_add(args) -> int:
    from pipeline_project.defs.web.config import load_config
    from pipeline_project.defs.web.partitions import web_crawls
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.resources import shared

    config = load_config(args.config, page_limit=args.pages)
    path = _register_crawl(shared(), config)
    get_instance().add_dynamic_partitions(web_crawls.name, [config.name])
    print(f"crawl {config.name!r} registered ({path}); run it from the UI (web_crawl, partition {config.name}) or:\n"
          f"  dagster job launch -w workspace.yaml -j web_crawl_job --tags '{{\"dagster/partition\": \"{config.name}\"}}'")
    return 0


def cmd_crawl_run(args) -> int:
    from pipeline_project.defs.documents.resources import documents_resources
    from pipeline_project.defs.web.config import ConfigError, load_config, pipeline_mode
    from pipeline_project.defs.web.graph_settings import graph_configured
    from pipeline_project.defs.web.partitions import web_crawls
    from pipeline_project.defs.web.resources import GraphSinkResource
    from pipeline_project.defs.web.runner import run_crawl
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.resources import shared

    config = load_config(args.config, page_limit=args.pages)
    mode = args.mode or pipeline_mode()
    if args.pages is not None and args.pages < 1:
        raise ConfigError("--pages must be at least 1")
    _register_crawl(shared(), config)
    resources = documents_resources()
    # batches run one at a time here: the model gets every core (the crawler mostly waits on the network)
    resources["embedder"] = EmbedderResource(model=resources["embedder"].model, threads=os.cpu_count() or 1)
    resources["graph"] = GraphSinkResource.from_env()
    instance = get_instance()
    instance.add_dynamic_partitions(web_crawls.name, [config.name])
    report = run_crawl(config, instance=instance, resources=resources, mode=mode, with_graph=graph_configured(),
                       out=lambda line: print(line, flush=True))
    c = report.crawl_counts
    print(f"crawl {config.name}: {c.get('saved', 0)} pages saved, {c.get('error', 0)} errors, {c.get('skipped', 0)} "
          f"skipped, {c.get('duplicate', 0)} duplicates, {c.get('pdf', 0)} PDFs to the inbox "
          f"({report.finish_reason}); {len(report.batches)} batches in {report.seconds:.1f}s"
          + (f"; FAILED batches: {report.failed}" if report.failed else ""))
    print(f"details: pipeline-project crawl status {config.name}   (run folder {report.run_dir})")
    return 1 if report.failed else 0


def _crawl_summary(common: Shared, name: str, run_dir: Path) -> dict:
    from pipeline_project.defs.web.crawl_log import read_run
    from pipeline_project.defs.web.progress import progress

    run = read_run(run_dir)
    now = progress(common.warehouse, run, common.embedder.model)
    return {"crawl": name, "run_id": run.state.get("run_id"), "status": run.status, "counts": run.counts,
            "finish_reason": run.state.get("finish_reason"), "progress": now.as_dict(), "line": now.line,
            "problems": [{"url": e["url"], "outcome": e["event"], "reason": e.get("reason")} for e in run.problems()]}


def cmd_crawl_status(args) -> int:
    from pipeline_project.lib.resources import shared

    common = shared()
    runs = _latest_runs(common.storage.root_path)
    if args.name:
        runs = {k: v for k, v in runs.items() if k == args.name}
    summaries = [_crawl_summary(common, name, run_dir) for name, run_dir in runs.items()]
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    if not summaries:
        print("no crawls yet: pipeline-project crawl run CONFIG")
    for s in summaries:
        print(f"{s['crawl']} (run {s['run_id']}, {s['status']}): {s['line']}")
        for p in s["problems"]:
            print(f"  [{p['outcome']}] {p['url']}: {p['reason']}")
    return 0


def _graph_writer():
    from pipeline_project.defs.web.resources import GraphSinkResource

    resource = GraphSinkResource.from_env()
    if not resource.enabled:
        print("the graph sink is off: set PIPELINE_NEO4J_URI (and _USER, _PASSWORD) or USE_NEO4J=true; "
              "bash scripts/arcadedb/start.sh starts a local Bolt server (docs/WEB.md)", file=sys.stderr)
        return None
    return resource.writer()


def cmd_graph_stats(args) -> int:
    writer = _graph_writer()
    if writer is None:
        return 2
    with writer:
        stats = writer.stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"graph at {stats['server']}")
    print("nodes:         " + (", ".join(f"{k} {v:,}" for k, v in stats["nodes"].items()) or "none"))
    print("relationships: " + (", ".join(f"{k} {v:,}" for k, v in stats["relationships"].items()) or "none"))
    return 0


def cmd_graph_sync(args) -> int:
    from pipeline_project.defs.web.graph_rows import write_batch
    from pipeline_project.lib.resources import shared
    from pipeline_project.lib.warehouse import connect

    writer = _graph_writer()
    if writer is None:
        return 2
    common = shared()
    with connect(common.warehouse) as conn:
        try:
            batch_ids = [r[0] for r in conn.execute("SELECT DISTINCT batch_id FROM documents ORDER BY 1").fetchall()]
        except Exception:
            batch_ids = []
    with writer:
        for batch_id in batch_ids:
            _, report = write_batch(writer, common.warehouse, batch_id, common.embedder.model)
            print(f"{batch_id}: {report.documents} documents, {report.chunks} chunks, {report.links} links "
                  f"({report.chunks_per_second} chunks/s)", flush=True)
    return 0


def register(subparsers) -> None:
    crawl = subparsers.add_parser("crawl", help="crawl a website into documents, chunks and embeddings")
    sub = crawl.add_subparsers(dest="crawl_command", required=True, metavar="COMMAND")
    p = sub.add_parser("run", help="crawl CONFIG and process every saved page here, printing live progress")
    p.add_argument("config", help="crawl YAML (name, start_urls, allowed_domains, page_limit, max_depth, "
                                  "delay_seconds, concurrent_requests, obey_robots, user_agent)")
    p.add_argument("--pages", type=int, help="page limit (overrides CLOSESPIDER_PAGECOUNT and the file)")
    p.add_argument("--mode", choices=["streaming", "batch"],
                   help="process pages while the crawl runs (streaming) or after it ends (batch); default $PIPELINE_MODE")
    p.set_defaults(func=cmd_crawl_run)
    p = sub.add_parser("add", help="register CONFIG as a crawl the daemon can run (partition of web_crawl)")
    p.add_argument("config")
    p.add_argument("--pages", type=int)
    p.set_defaults(func=cmd_crawl_add)
    p = sub.add_parser("status", help="each crawl's last run: counts, errors and skips with reasons")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_crawl_status)

    graph = subparsers.add_parser("graph", help="the graph sink (Neo4j 5 or any Bolt server speaking its Cypher)")
    gsub = graph.add_subparsers(dest="graph_command", required=True, metavar="COMMAND")
    p = gsub.add_parser("stats", help="node counts by label and relationship counts by type")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_graph_stats)
    p = gsub.add_parser("sync", help="write every batch to the graph again (idempotent; after turning the sink on)")
    p.set_defaults(func=cmd_graph_sync)


def status(shared: Shared) -> dict:
    """The web part of `pipeline-project status` (and --watch): each crawl's progress line."""
    runs = _latest_runs(shared.storage.root_path)
    summaries = [_crawl_summary(shared, name, run_dir) for name, run_dir in runs.items()]
    lines = [f"{s['crawl']} ({s['status']}): {s['line']}" for s in summaries] or ["no crawls yet"]
    return {"crawls": summaries, "lines": lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline-project")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
