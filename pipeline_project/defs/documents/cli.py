"""The documents domain's commands: `sample`, `drain`, `search`, and its part of `status`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing it loads Dagster, which `search` does without
    from pipeline_project.lib.resources import Shared


def cmd_sample(args: argparse.Namespace) -> int:
    from pipeline_project import samples
    from pipeline_project.lib.resources import shared

    inbox = shared().storage.inbox
    paths = samples.sample_corpus(inbox / "sample", documents=args.documents, pages=args.pages, scans=args.scans)
    if args.with_bad:
        samples.bad_files(inbox / "sample" / "bad", paths[0])
    print(f"wrote {len(paths)} sample PDFs{' and 7 bad files' if args.with_bad else ''} to {inbox / 'sample'}")
    return 0


def cmd_drain(args: argparse.Namespace) -> int:
    from pipeline_project.defs.documents.drain import drain
    from pipeline_project.defs.documents.resources import documents_resources
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.status import print_status

    resources = documents_resources()
    # drain runs one batch at a time in this process: give the model every core
    resources["embedder"] = EmbedderResource(model=resources["embedder"].model, threads=os.cpu_count() or 1)
    report = drain(get_instance(), resources, log=lambda m: print(m, flush=True))
    print(f"\ndrained {len(report.batches)} batches in {report.seconds:.1f}s"
          f"{f'; FAILED: {report.failed}' if report.failed else ''}\n")
    print_status()
    return 1 if report.failed else 0


def cmd_search(args: argparse.Namespace) -> int:
    # no Dagster import on this path: a search answers in about a second (see search/service.py)
    from pipeline_project.defs.documents.search import service
    from pipeline_project.defs.documents.search.snippets import on_terminal

    answer = service.search(args.query, k=args.k, mode=args.mode, use_server=not args.no_server)
    hits = answer["hits"]
    took = f"{answer['mode']} search, {answer['seconds'] * 1000:.0f} ms, answered by the {answer['answered_by']}"
    if args.json:  # the hits, as the server's JSON has them under "hits"
        print(json.dumps(hits, indent=2))
        print(took, file=sys.stderr)
        return 0
    if not hits:
        print("no matches (or nothing indexed yet: drop PDFs into the inbox and run `pipeline-project drain`)")
        return 0
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for n, hit in enumerate(hits, 1):
        print(f"{n}. {hit['score']:.4f}  {hit['source_file']}  p.{hit['page']}  doc {hit['doc_id'][:12]}")
        print(textwrap.indent(on_terminal(hit["snippet"], hit["highlights"], colour), "     "))
    print(f"({took})")
    return 0


def status(common: Shared) -> dict:
    """Counts per stage, the latest batches, files waiting in the inbox, partitions used vs the budget."""
    from pipeline_project.defs.documents import queries
    from pipeline_project.defs.documents.batching import is_candidate

    inbox = common.storage.inbox
    s = queries.stage_counts(common.warehouse)
    batches = queries.batches(common.warehouse)
    waiting = sum(1 for p in inbox.rglob("*") if is_candidate(p, inbox))
    methods = ", ".join(f"{v} {k}" for k, v in sorted(s["pages_by_method"].items())) or "none"
    models = ", ".join(f"{v} {k}" for k, v in s["embeddings_by_model"].items()) or "none"
    budget = partition_budget_status()
    lines = [
        f"inbox        : {waiting} files waiting",
        f"partitions   : {budget['message']}",
        f"dispatch     : {budget['rule']}",
        f"raw_pdfs     : {s['files']} files in {s['batches']} batches — {s['accepted']} accepted, "
        f"{s['duplicates']} duplicates, {s['quarantined']} quarantined",
        f"documents    : {s['documents']} documents, {s['pages']} pages ({methods})",
        f"chunks       : {s['chunks']}",
        f"embeddings   : {models}",
    ]
    lines += [f"batch {b['batch_id']}: {b['files']} files, {b['accepted']} accepted, {b['quarantined']} quarantined, "
              f"{b['documents']} documents, {b['chunks']} chunks" for b in batches[-5:]]
    return {"inbox_waiting": waiting, "partition_budget": budget, "stages": s, "batches": batches, "lines": lines}


def partition_budget_status(instance=None) -> dict:
    """OCR batch partitions registered in the Dagster instance vs PIPELINE_PARTITION_BUDGET, and the
    dispatch rule in force (docs/ARCHITECTURE.md, Batching)."""
    from pipeline_project.defs.documents.checks import budget_message
    from pipeline_project.defs.documents.dispatch_policy import budget_scale
    from pipeline_project.defs.documents.partitions import ocr_batches
    from pipeline_project.defs.documents.sensors import dispatch_settings, instance_storage_kind
    from pipeline_project.lib.home import get_instance

    instance = instance or get_instance()
    settings = dispatch_settings(instance)
    used = len(instance.get_dynamic_partitions(ocr_batches.name))
    scale = budget_scale(used, settings.budget, settings.warn_fraction)
    quick = (f"new files go at once after ~{settings.quiet_minutes + 1} quiet minutes, " if settings.latency_first
             else "no batch below the minimum before the wait (GPU engine), ")
    rule = (f"{quick}full at {round(settings.min_pages * scale):,} pages, partial after ≤ "
            f"{settings.max_wait_seconds * scale / 60:.0f} min" + (f" (×{scale:.1f}: budget filling)" if scale > 1 else ""))
    return {"used": used, "budget": settings.budget, "warn_fraction": settings.warn_fraction,
            "warning": used >= settings.warn_fraction * settings.budget, "batch_size_factor": round(scale, 2),
            "instance_storage": instance_storage_kind(instance),
            "message": budget_message(used, settings.budget, settings.warn_fraction), "rule": rule}


def search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, help="how many chunks (default 5)")
    p.add_argument("--mode", choices=["hybrid", "vector", "lexical"], default="hybrid",
                   help="hybrid: exact words (BM25) and meaning (vectors) fused (default); vector: meaning "
                        "only; lexical: words only")
    p.add_argument("--no-server", action="store_true",
                   help="search here even when the project's web server is running (it answers faster)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def search_main(argv: list[str]) -> int:
    """`pipeline-project search ...` without building the whole CLI: the other domains' command modules
    import Dagster (~2.5 CPU-s), more than a search may take. pipeline_project/cli.py's main() calls this
    when the first argument is `search`."""
    p = argparse.ArgumentParser(prog="pipeline-project search",
                                description="the top-k chunks for QUERY: words and meaning (hybrid) by default")
    search_arguments(p)
    return cmd_search(p.parse_args(argv))


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="write generated sample PDFs into the inbox")
    p.add_argument("--documents", type=int, default=6, help="born-digital PDFs (default 6)")
    p.add_argument("--pages", type=int, default=3, help="pages per born-digital PDF (default 3)")
    p.add_argument("--scans", type=int, default=2, help="image-only PDFs that need OCR (default 2)")
    p.add_argument("--with-bad", action="store_true", help="also write one file of each kind of bad input")
    p.set_defaults(func=cmd_sample)

    p = subparsers.add_parser("drain", help="process everything in the inbox through every stage, here and now")
    p.set_defaults(func=cmd_drain)

    p = subparsers.add_parser("search", help="the top-k chunks for QUERY: words and meaning (hybrid) by default")
    search_arguments(p)
    p.set_defaults(func=cmd_search)
