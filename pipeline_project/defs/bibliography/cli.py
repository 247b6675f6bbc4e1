"""`pipeline-project bib …`: reference lists, enrichment and cited-PDF downloads from the command line.

    bib extract FILE [--json]        the reference lists of one PDF, without enrichment
    bib process-pdf FILE             one PDF through OCR, extraction, enrichment and downloads
    bib process-folder DIR           every PDF under DIR, the same way
    bib watch-folder DIR             keep processing PDFs as they appear under DIR (Ctrl-C stops)
    bib status [--json]              counts per stage, waiting references and why

The processing commands take --extraction-workers --enrichment-workers --download-workers
--queue-size --concurrent/--sequential and show a live dashboard (--no-dashboard to hide it).
They run the same assets as the daemon, in this process, on the project's Dagster instance.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path


def _extract_pages(path: Path) -> list[tuple[int, str]]:
    """The PDF's page texts through the documents domain's OCR engine (text layer, else Tesseract)."""
    import hashlib
    import tempfile

    from pipeline_project.defs.documents.intake import inspect_pdf
    from pipeline_project.defs.documents.ocr.base import OcrInput
    from pipeline_project.defs.documents.olmocr_format import pages_from_record
    from pipeline_project.defs.documents.resources import ocr_engine_from_env

    verdict = inspect_pdf(path)  # the intake's own check: empty, not a PDF, locked, damaged
    if not verdict.ok:
        raise SystemExit(f"{path}: {verdict.reason}")
    doc_id = hashlib.sha256(path.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="bib-extract-") as work:
        result = ocr_engine_from_env().ocr_batch(None, "bib-extract", [OcrInput(doc_id, path, path.name, 0)],
                                                 Path(work))
    if result.failures:
        raise SystemExit(f"{path}: {result.failures[doc_id]}")
    return [(p.page, p.text) for p in pages_from_record(result.records[0])]


def cmd_extract(args: argparse.Namespace) -> int:
    from pipeline_project.defs.bibliography.extraction import as_json, extract

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    out = as_json(str(path), extract(_extract_pages(path)))
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for lst in out["lists"]:
        print(f"{lst['heading'] or '(no heading)'} — pages {lst['pages']}, {lst['references']} references ({lst['style']})")
    for ref in out["references"]:
        print(f"  p.{ref['page']:<3} {ref['year'] or '    '} {(ref['first_author'] or '?')[:20]:<20} "
              f"{(ref['title'] or ref['text'])[:80]}")
    if not out["lists"]:
        print("no reference list found")
    return 0


def _pipeline(args: argparse.Namespace):
    from pipeline_project.defs.bibliography import progress
    from pipeline_project.defs.bibliography.resources import BibliographyResource
    from pipeline_project.defs.bibliography.runner import LocalPipeline, RunOptions
    from pipeline_project.defs.documents.resources import documents_resources
    from pipeline_project.lib.home import get_instance

    options = RunOptions(extraction_workers=args.extraction_workers,
                         enrichment_workers=args.enrichment_workers if args.concurrent else 1,
                         download_workers=args.download_workers if args.concurrent else 1,
                         queue_size=args.queue_size, concurrent=args.concurrent)
    bib = BibliographyResource.from_env()
    bib = BibliographyResource(**{**bib.model_dump(), "enrichment_workers": options.enrichment_workers,
                                  "download_workers": options.download_workers})
    resources = {**documents_resources(), "bibliography": bib}
    quiet = args.no_dashboard or not sys.stdout.isatty()
    settings = {"PIPELINE_BIB_ENRICHMENT_WORKERS": str(options.enrichment_workers),
                "PIPELINE_BIB_DOWNLOAD_WORKERS": str(options.download_workers)}
    return LocalPipeline(get_instance(), resources, options, log=print if quiet else (lambda m: None),
                         progress=progress.reset(), settings=settings)


def _run(args: argparse.Namespace, files: list[Path], watch: Path | None = None) -> int:
    from pipeline_project.defs.bibliography import dashboard
    from pipeline_project.defs.bibliography.runner import add_to_inbox, pdfs_in

    pipeline = _pipeline(args)
    inbox = pipeline.resources["storage"].inbox
    pipeline.report.files_added = len(add_to_inbox(files, inbox))
    seen = {p: p.stat().st_mtime for p in files}

    def feed() -> bool:
        if watch is None:
            return False
        fresh = [p for p in pdfs_in(watch) if seen.get(p) != p.stat().st_mtime]
        for p in fresh:
            seen[p] = p.stat().st_mtime
        pipeline.report.files_added += len(add_to_inbox(fresh, inbox))
        return True  # keep watching

    if threading.current_thread() is threading.main_thread():  # Ctrl-C: finish the round, then stop
        signal.signal(signal.SIGINT, lambda *_: pipeline.stop.set())
    mode = "concurrent" if args.concurrent else "sequential"
    with dashboard.live(pipeline.progress, enabled=not args.no_dashboard, title=f"bibliography ({mode})"):
        report = pipeline.run(feed)
    print(f"{report.files_added} files added, {len(report.batches)} batches, {report.seconds:.0f} s"
          + (f"; failed: {', '.join(report.failed)}" if report.failed else ""))
    for line in _set_aside(pipeline.resources["warehouse"], report.batches):
        print(line)
    print("\n".join(status_lines()))
    return 1 if report.failed else 0


def _set_aside(warehouse, batches: list[str]) -> list[str]:
    """Files of these batches the documents domain did not take (not a PDF, damaged, locked), and why."""
    from pipeline_project.lib.ledger import DEAD_LETTER, Ledger

    documents = Ledger(warehouse, "documents")
    rows = [r for b in batches for r in documents.rows(partition_key=b, states=[DEAD_LETTER])]
    return [f"quarantined  : {r.label or r.item_id} — {(r.last_error or '')[:100]}" for r in rows]


def cmd_process_pdf(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    return _run(args, [path])


def cmd_process_folder(args: argparse.Namespace) -> int:
    from pipeline_project.defs.bibliography.runner import pdfs_in

    folder = Path(args.dir)
    if not folder.is_dir():
        print(f"no such folder: {folder}", file=sys.stderr)
        return 2
    return _run(args, pdfs_in(folder))


def cmd_watch_folder(args: argparse.Namespace) -> int:
    from pipeline_project.defs.bibliography.runner import pdfs_in

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"watching {folder} (Ctrl-C to stop)")
    return _run(args, pdfs_in(folder), watch=folder)


# -- status ----------------------------------------------------------------------------------------------
def status_counts(warehouse) -> dict:
    from pipeline_project.defs.bibliography.tables import ensure_schema
    from pipeline_project.lib import ledger
    from pipeline_project.lib.warehouse import connect

    with connect(warehouse) as conn:
        ensure_schema(conn)
        ledger.ensure_ledger(conn)
        q = lambda sql: dict(conn.execute(sql).fetchall())  # noqa: E731
        return {
            "documents": q("SELECT outcome, count(*) FROM bib_documents GROUP BY 1"),
            "references": conn.execute("SELECT count(*) FROM no_metadata").fetchone()[0],
            "enrichment": q("SELECT status, count(*) FROM with_metadata GROUP BY 1"),
            "answered_by": q("SELECT service, count(*) FROM with_metadata WHERE service IS NOT NULL GROUP BY 1"),
            "waiting_reasons": q("SELECT split_part(reason, ';', 1), count(*) FROM with_metadata "
                                 "WHERE status = 'waiting' GROUP BY 1"),
            "download_queue": q("SELECT split_part(decision, ' batch', 1), count(*) FROM to_download_references "
                                "GROUP BY 1"),
            "downloads": q("SELECT outcome, count(*) FROM downloaded_references GROUP BY 1"),
            "download_failures": q("SELECT regexp_replace(coalesce(last_error, state), ' for https?://\\S+', ''), "
                                   f"count(*) FROM {ledger.TABLE} WHERE domain = "
                                   "'bibliography' AND stage = 'download' AND state IN ('failed', 'dead_letter') "
                                   "GROUP BY 1"),
        }


def status(common) -> dict:
    """The bibliography part of `pipeline-project status`."""
    counts = status_counts(common.warehouse)
    return {**counts, "lines": _lines(counts)}


def _lines(c: dict) -> list[str]:
    fmt = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"  # noqa: E731
    lines = [f"documents    : {fmt(c['documents'])}", f"references   : {c['references']} extracted; {fmt(c['enrichment'])}"]
    if c["answered_by"]:
        lines.append(f"answered by  : {fmt(c['answered_by'])}")
    for reason, n in c["waiting_reasons"].items():
        lines.append(f"waiting      : {n} — {reason}")
    lines.append(f"downloads    : queue {fmt(c['download_queue'])}; fetched {fmt(c['downloads'])}")
    for reason, n in c["download_failures"].items():
        lines.append(f"not fetched  : {n} — {reason[:100]}")
    return lines


def status_lines() -> list[str]:
    from pipeline_project.lib.resources import shared

    return status(shared())["lines"]


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline_project.lib.resources import shared

    result = status(shared())
    print(json.dumps(result, indent=2, default=str) if args.json else "\n".join(result["lines"]))
    return 0


def _processing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extraction-workers", type=int, default=1, help="batches extracted at once (default 1)")
    parser.add_argument("--enrichment-workers", type=int, default=8,
                        help="references enriched at once (default 8; each service's limits still apply)")
    parser.add_argument("--download-workers", type=int, default=4, help="PDFs fetched at once (default 4)")
    parser.add_argument("--queue-size", type=int, default=8, help="batches waiting between stages (default 8)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--concurrent", dest="concurrent", action="store_true", default=True,
                      help="stages overlap, requests run concurrently within the limits (default)")
    mode.add_argument("--sequential", dest="concurrent", action="store_false",
                      help="one batch, one stage, one reference at a time")
    parser.add_argument("--no-dashboard", action="store_true", help="no live dashboard, a line per stage now and then")


def register(subparsers) -> None:
    group = subparsers.add_parser("bib", help="reference lists: extract, enrich (Crossref, OpenAlex), fetch cited PDFs")
    sub = group.add_subparsers(dest="bib_command", required=True, metavar="COMMAND")
    p = sub.add_parser("extract", help="the reference lists of one PDF, without enrichment")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print {file, lists, references} as JSON")
    p.set_defaults(func=cmd_extract)
    for name, helptext, arg, func in (
            ("process-pdf", "one PDF through OCR, extraction, enrichment and downloads", "file", cmd_process_pdf),
            ("process-folder", "every PDF under a folder, the same way", "dir", cmd_process_folder),
            ("watch-folder", "keep processing PDFs as they appear under a folder", "dir", cmd_watch_folder)):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(arg)
        _processing_options(p)
        p.set_defaults(func=func)
    p = sub.add_parser("status", help="counts per stage, waiting references and why")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)
