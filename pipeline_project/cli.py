"""`pipeline-project`: the command line for scripts, CI and people at a terminal.

Every command works on the embedded default: $PIPELINE_DATA_DIR (default ./data) and the project's
Dagster instance ($DAGSTER_HOME, default $PIPELINE_DATA_DIR/dagster_home).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path



def _documents_resources() -> dict:
    from pipeline_project.defs.documents.definitions import documents_resources

    return documents_resources()


def cmd_init(args) -> int:
    from pipeline_project.lib.home import ensure_dagster_home
    from pipeline_project.lib.storage import StorageResource

    storage = StorageResource.from_env()
    for folder in (storage.inbox, storage.quarantine, storage.batches):
        folder.mkdir(parents=True, exist_ok=True)
    home = ensure_dagster_home()
    print(f"storage root : {storage.root_path}\ninbox        : {storage.inbox}\nDAGSTER_HOME : {home}")
    print(f"\nFor dagster commands in this shell:\n  export DAGSTER_HOME={home}")
    return 0


def cmd_dev(args) -> int:
    from pipeline_project.lib.home import ensure_dagster_home

    home = ensure_dagster_home()
    print(f"DAGSTER_HOME={home}; UI on http://{args.host}:{args.port}", flush=True)
    dagster = Path(sys.executable).with_name("dagster")
    argv = [str(dagster), "dev", "-w", str(Path(args.workspace).resolve()), "-h", args.host, "-p", str(args.port)]
    # `dagster dev` warns that `dg dev` supersedes it; dg needs an extra package and project layout
    # for no gain here, so keep the UI's start-up log clean.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:Function `dev_command` is superseded")
    os.execv(argv[0], argv)
    return 0  # not reached


def cmd_sample(args) -> int:
    from pipeline_project import samples
    from pipeline_project.lib.storage import StorageResource

    inbox = StorageResource.from_env().inbox
    paths = samples.sample_corpus(inbox / "sample", documents=args.documents, pages=args.pages, scans=args.scans)
    if args.with_bad:
        samples.bad_files(inbox / "sample" / "bad", paths[0])
    print(f"wrote {len(paths)} sample PDFs{' and 7 bad files' if args.with_bad else ''} to {inbox / 'sample'}")
    return 0


def cmd_drain(args) -> int:
    from pipeline_project.defs.documents.drain import drain
    from pipeline_project.lib.home import get_instance

    from pipeline_project.lib.embedder import EmbedderResource

    resources = _documents_resources()
    # drain runs one batch at a time in this process: give the model every core
    resources["embedder"] = EmbedderResource(model=resources["embedder"].model, threads=os.cpu_count() or 1)
    report = drain(get_instance(), resources, log=lambda m: print(m, flush=True))
    summary = _status_summary()
    print(f"\ndrained {len(report.batches)} batches in {report.seconds:.1f}s"
          f"{f'; FAILED: {report.failed}' if report.failed else ''}")
    _print_status(summary)
    return 1 if report.failed else 0


def cmd_search(args) -> int:
    from pipeline_project.defs.documents.queries import search

    resources = _documents_resources()
    hits = search(resources["warehouse"], resources["embedder"], args.query, k=args.k)
    if args.json:
        print(json.dumps(hits, indent=2))
        return 0
    if not hits:
        print("no embeddings yet: drop PDFs into the inbox and run `pipeline-project drain`")
        return 0
    for n, hit in enumerate(hits, 1):
        pages = hit["page"] if hit["page"] == hit["page_end"] else f"{hit['page']}-{hit['page_end']}"
        print(f"{n}. {hit['score']:.3f}  {hit['source_file']}  p.{pages}  doc {hit['doc_id'][:12]}")
        print(textwrap.indent(textwrap.shorten(hit["text"], 300), "     "))
    return 0


def _status_summary() -> dict:
    from pipeline_project.defs.documents import queries
    from pipeline_project.defs.documents.batching import is_candidate

    resources = _documents_resources()
    storage, warehouse = resources["storage"], resources["warehouse"]
    summary = {
        "data_dir": str(storage.root_path),
        "inbox_waiting": sum(1 for p in storage.inbox.rglob("*") if is_candidate(p, storage.inbox)),
        "stages": queries.stage_counts(warehouse),
        "batches": queries.batches(warehouse),
        "quarantined": queries.quarantined_files(warehouse),
        "dead_letters": queries.dead_letters(warehouse),
    }
    from pipeline_project.defs.ingest.status import disk_status, download_status

    summary["disk"] = disk_status()
    summary["downloads"] = download_status()
    return summary


def _print_status(summary: dict) -> None:
    s = summary["stages"]
    print(f"data dir     : {summary['data_dir']}")
    print(f"inbox        : {summary['inbox_waiting']} files waiting")
    print(f"raw_pdfs     : {s['files']} files in {s['batches']} batches — {s['accepted']} accepted, "
          f"{s['duplicates']} duplicates, {s['quarantined']} quarantined")
    methods = ", ".join(f"{v} {k}" for k, v in sorted(s["pages_by_method"].items())) or "none"
    print(f"documents    : {s['documents']} documents, {s['pages']} pages ({methods})")
    print(f"chunks       : {s['chunks']}")
    models = ", ".join(f"{v} {k}" for k, v in s["embeddings_by_model"].items()) or "none"
    print(f"embeddings   : {models}")
    print(f"dead letters : {s['dead_letters']}")
    for b in summary["batches"][-5:]:
        print(f"batch {b['batch_id']}: {b['files']} files, {b['accepted']} accepted, "
              f"{b['quarantined']} quarantined, {b['documents']} documents, {b['chunks']} chunks")
    print(f"disk         : {summary['disk']['reason']}")
    if summary["downloads"]:
        print(f"downloads    : {', '.join(f'{v} {k}' for k, v in summary['downloads'].items())}")
    if summary["quarantined"]:
        print("\nquarantined files (kept in the quarantine folder, never deleted):")
        for q in summary["quarantined"]:
            print(f"  {q['source_file']}: {q['reason']}\n      → {q['path']}")
    if summary["dead_letters"]:
        print("\ndead letters (accepted files a later stage could not process):")
        for d in summary["dead_letters"]:
            print(f"  {d['source_file']} [{d['stage']}]: {d['reason']}")


def cmd_status(args) -> int:
    summary = _status_summary()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_status(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline-project",
        description="Turn files arriving in $PIPELINE_DATA_DIR/inbox (default ./data/inbox) into queryable data.",
        epilog="Run `pipeline-project COMMAND --help` for a command's options. Docs: README.md, docs/ARCHITECTURE.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create the storage folders and the Dagster instance (DAGSTER_HOME)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("dev", help="start the Dagster UI and daemon (sensors run by themselves)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--workspace", default="workspace.yaml")
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("sample", help="write generated sample PDFs into the inbox")
    p.add_argument("--documents", type=int, default=6, help="born-digital PDFs (default 6)")
    p.add_argument("--pages", type=int, default=3, help="pages per born-digital PDF (default 3)")
    p.add_argument("--scans", type=int, default=2, help="image-only PDFs that need OCR (default 2)")
    p.add_argument("--with-bad", action="store_true", help="also write one file of each kind of bad input")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("drain", help="process everything in the inbox through every stage, here and now")
    p.set_defaults(func=cmd_drain)

    p = sub.add_parser("search", help="top-k chunks most similar to QUERY")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, help="how many chunks (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("status", help="counts per stage and every quarantined file with its reason")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    try:
        from pipeline_project.defs.observations.cli import register as register_observations
    except ImportError:
        pass
    else:
        register_observations(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
