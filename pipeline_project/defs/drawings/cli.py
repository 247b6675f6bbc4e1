"""`pipeline-project drawings compare|progress|list` and the domain's part of `status`.

compare OLD NEW   registers the comparison (the same pair again: the same comparison, no new work).
                  Without --wait the daemon runs it (`pipeline-project dev`): started at once through
                  the Dagster UI when PIPELINE_DAGSTER_URL names it (e.g. http://127.0.0.1:3000),
                  else requested by the drawings sensor at its next tick. With --wait the command
                  follows it to the end — run by the daemon when one is running, else right here in
                  this process — and prints the final progress (--json: the API's JSON).
progress JOB      the progress, as GET /api/v1/jobs/JOB/progress returns it (--json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DAEMON_FRESH_SECONDS = 60
TERMINAL = ("completed", "failed")


def _daemon_running(instance) -> bool:
    """A sensor daemon has reported in within the last minute."""
    beats = instance.get_daemon_heartbeats()
    beat = beats.get("SENSOR")
    return beat is not None and time.time() - beat.timestamp < DAEMON_FRESH_SECONDS


def run_here(instance, job_id: str) -> bool:
    """Run the comparison job for this partition in this process, recorded in the instance."""
    from pipeline_project.definitions import build_definitions
    from pipeline_project.defs.drawings.jobs import drawings_comparison_job

    job = build_definitions().resolve_job_def(drawings_comparison_job.name)
    result = job.execute_in_process(partition_key=job_id, instance=instance, raise_on_error=False)
    return result.success


def print_progress(p: dict) -> None:
    counts = "  ".join(f"{k} {v['completed']}/{v['total']}" for k, v in p["progress"].items())
    print(f"comparison {p['job_id']} ({p.get('name') or ''}): {p['status']}  —  {counts}")
    if p.get("error"):
        print(f"  reason: {p['error']}")
    for page in p["pages"]:
        stages = f"{page['ocr_status']}/{page['diff_status']}/{page['summary_status']}"
        dr = page.get("diff_result") or {}
        changes = f"{dr['change_count']} changes" if dr else ""
        print(f"  {page['page_number']:>3}. {page['drawing_name'] or '':<14} {page['change_type']:<9} {stages:<31} {changes}")
        if page.get("summary"):
            print(f"       {page['summary']['summary_text'].splitlines()[0]}")
        if page.get("error"):
            print(f"       error: {page['error']}")


def cmd_compare(args: argparse.Namespace) -> int:
    from pipeline_project.defs.drawings import progress
    from pipeline_project.defs.drawings.launch import launch_now, ui_configured
    from pipeline_project.defs.drawings.submissions import register_partition, submit
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.quarantine import USER
    from pipeline_project.lib.resources import shared

    for path in (args.old, args.new):
        if not Path(path).is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
    common = shared()
    instance = get_instance()
    daemon = _daemon_running(instance)
    launching = daemon and ui_configured()  # the UI queues the run; the daemon's run queue starts it
    sub = submit(common.storage.root_path, common.warehouse, Path(args.old), Path(args.new), name=args.name,
                 source="cli", owner=USER, launching=launching)
    register_partition(instance, sub.job_id)
    if not args.json:
        print(f"comparison {sub.job_id}: {'submitted' if sub.created else f'already submitted ({sub.status})'}",
              flush=True)
    if sub.created and launching:
        run_id = launch_now(common.warehouse, sub.job_id, launched_by="cli",
                            log=lambda m: None if args.json else print(f"note: {m}", flush=True))
        if run_id and not args.json:
            print(f"run {run_id} queued through the Dagster UI", flush=True)
    if args.wait and sub.status not in TERMINAL:
        if daemon:
            if not args.json:
                print("the daemon runs it; waiting…", flush=True)
            while (progress.job_progress(common.warehouse, sub.job_id) or {}).get("status") not in TERMINAL:
                time.sleep(1.0)
        else:
            if not args.json:
                print("no daemon running: comparing here…", flush=True)
            run_here(instance, sub.job_id)
    elif not args.wait and not args.json and not daemon:
        print("note: no Dagster daemon is running; start `pipeline-project dev`, or add --wait to compare here")
    found = progress.job_progress(common.warehouse, sub.job_id)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print_progress(found)
        print(f"follow: pipeline-project drawings progress {sub.job_id}   review: /drawings/{sub.job_id}")
    return 1 if found["status"] == "failed" else 0


def cmd_progress(args: argparse.Namespace) -> int:
    from pipeline_project.defs.drawings import progress
    from pipeline_project.lib.resources import shared

    found = progress.job_progress(shared().warehouse, args.job)
    if found is None:
        print(f"error: no drawing comparison {args.job!r}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print_progress(found)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from pipeline_project.defs.drawings import progress
    from pipeline_project.lib.resources import shared

    jobs = progress.list_jobs(shared().warehouse)
    if args.json:
        print(json.dumps(jobs, indent=2))
        return 0
    for j in jobs:
        print(f"{j['job_id']}  {j['status']:<11} {j['total_pages'] or '':>4} pages  {j['name']}"
              f"{'  — ' + j['error'] if j['error'] else ''}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("drawings", help="compare two revisions of a drawing set, page by page")
    sub = parser.add_subparsers(dest="drawings_command", required=True, metavar="COMMAND")
    p = sub.add_parser("compare", help="compare OLD and NEW (PDF drawing sets)")
    p.add_argument("old", help="the old revision (PDF)")
    p.add_argument("new", help="the new revision (PDF)")
    p.add_argument("--name", help="what to call the comparison (default: the file names)")
    p.add_argument("--wait", action="store_true", help="wait for the result (compare here when no daemon runs)")
    p.add_argument("--json", action="store_true", help="print the progress JSON (as the API returns it)")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("progress", help="per-page, per-stage progress of a comparison")
    p.add_argument("job", help="the comparison id (printed by compare)")
    p.add_argument("--json", action="store_true", help="the API's JSON")
    p.set_defaults(func=cmd_progress)
    p = sub.add_parser("list", help="recent comparisons")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)


def status(common) -> dict:
    """Comparisons by status, failed ones with their reason, pages in the dead letters."""
    from pipeline_project.defs.drawings import tables
    from pipeline_project.defs.drawings.submissions import DOMAIN
    from pipeline_project.lib import ledger
    from pipeline_project.lib.warehouse import connect

    tables.ensure_tables(common.warehouse)
    with connect(common.warehouse) as conn:
        rows = tables.comparisons(conn)
        dead = ledger.select(conn, domain=DOMAIN, states=[ledger.DEAD_LETTER])
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    failed = [{"job_id": r["job_id"], "name": r["name"], "reason": r["error"]} for r in rows if r["status"] == "failed"]
    lines = [f"comparisons  : {len(rows)} — " + (", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none")]
    lines += [f"  failed {f['job_id']} ({f['name']}): {f['reason']}" for f in failed[-10:]]
    lines += [f"  dead letter {d.item_id} [{d.stage}]: {d.last_error}"
              + (f" → {d.quarantine_path}" if d.quarantine_path else "") for d in dead[-10:]]
    return {"comparisons": by_status, "failed": failed, "dead_letters": len(dead), "lines": lines}
