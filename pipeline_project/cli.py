"""`pipeline-project`: the command line for scripts, CI and people at a terminal.

Every command works on the embedded default: $PIPELINE_DATA_DIR (default ./data) and the project's
Dagster instance ($DAGSTER_HOME, default $PIPELINE_DATA_DIR/dagster_home). The commands that span every
domain live here (init, dev, serve, status, retry); each domain adds its own from the `register(subparsers)`
of its defs/<domain>/cli.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def cmd_init(args) -> int:
    from pipeline_project.lib.home import ensure_dagster_home
    from pipeline_project.lib.resources import shared

    storage = shared().storage
    for folder in (storage.inbox, storage.quarantine, storage.batches):
        folder.mkdir(parents=True, exist_ok=True)
    home = ensure_dagster_home()
    print(f"storage root : {storage.root_path}\ninbox        : {storage.inbox}\nDAGSTER_HOME : {home}")
    print(f"\nFor dagster commands in this shell:\n  export DAGSTER_HOME={home}")
    return 0


def cmd_dev(args) -> int:
    """`dg dev` (Dagster UI + daemon, sensors run by themselves) and the project's web server beside it,
    supervised as one service: Ctrl-C or SIGTERM stops all of it within seconds and the runs it
    interrupts resume on the next start (lib/service.py)."""
    from pipeline_project.lib.home import ensure_dagster_home
    from pipeline_project.lib.service import Service

    home = ensure_dagster_home()
    env = dict(os.environ, VIRTUAL_ENV=sys.prefix, DAGSTER_HOME=str(home))
    dagster_url = f"http://{args.host}:{args.port}"
    service = Service(home, dagster_url)
    if args.web_port:
        from pipeline_project.lib.web.security import UnsafeBind, check_bind

        try:  # refuse an exposed address without a token before anything starts
            check_bind(args.host, env.get("PIPELINE_API_TOKEN") or None)
        except UnsafeBind as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    service.start()
    if args.web_port:
        from pipeline_project.lib.web.server import spawn

        # the web server may launch runs through the Dagster UI's GraphQL API instead of waiting
        # for a sensor tick (uploads start sooner)
        server_env = dict(env, PIPELINE_DAGSTER_URL=dagster_url)
        spawn(args.host, args.web_port, env=server_env,
              launcher=lambda argv, **kw: service.supervisor.spawn("web server", argv, **kw))
        print(f"web server   : http://{args.host}:{args.web_port}  (review pages, progress API)", flush=True)
    print(f"Dagster UI   : {dagster_url}  (DAGSTER_HOME={home}; Ctrl-C stops everything)", flush=True)
    dg = Path(sys.executable).with_name("dg")
    service.supervisor.spawn("dagster (dg dev)", [str(dg), "dev", "--host", args.host, "--port", str(args.port)],
                             cwd=PROJECT_ROOT, env=env)
    status = service.wait()
    service.stop()
    # Everything is stopped and recorded; skip the interpreter's slow teardown of the libraries the
    # domains' commands imported (seconds here), which a service manager would count as stop time.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def cmd_serve(args) -> int:
    from pipeline_project.lib.web.server import run_from_args

    return run_from_args(args)


def cmd_status(args) -> int:
    from pipeline_project.lib import status

    if not args.watch:
        summary = status.collect()
        print(json.dumps(summary, indent=2, default=str) if args.json else status.render(summary))
        return 0
    try:
        while True:
            summary = status.collect()
            text = json.dumps(summary, default=str) if args.json else status.render(summary)
            if not args.json and sys.stdout.isatty():
                print("\033[2J\033[H", end="")
            print(text + ("" if args.json else f"\n\n(every {args.watch:g}s; Ctrl-C to stop)"), flush=True)
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return 0


def cmd_retry(args) -> int:
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.retry import retry

    report = retry(get_instance(), domain=args.domain, dead_letters=args.dead_letters, queue=args.queue)
    if not report.requeued:
        what = "failed items or dead letters" if args.dead_letters else "failed items (add --dead-letters for those)"
        print(f"nothing to retry: no {what}{f' in {args.domain}' if args.domain else ''}")
        return 0
    items = sum(n for parts in report.requeued.values() for n in parts.values())
    failed = [r for r in report.runs if not r.get("success", r.get("queued"))]
    verb = "queued for the daemon" if args.queue else "re-run"
    print(f"re-queued {items} item(s); {len(report.runs) - len(failed)} of {len(report.runs)} partition(s) {verb}"
          + (f"; FAILED: {[r['partition'] for r in failed]}" if failed else ""))
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from pipeline_project.lib import domains

    parser = argparse.ArgumentParser(
        prog="pipeline-project",
        description="Turn files arriving in $PIPELINE_DATA_DIR/inbox (default ./data/inbox) into queryable data.",
        epilog="Run `pipeline-project COMMAND --help` for a command's options. Docs: README.md, docs/ARCHITECTURE.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create the storage folders and the Dagster instance (DAGSTER_HOME)")
    p.set_defaults(func=cmd_init)

    from pipeline_project.lib.web.server import add_arguments as web_server_arguments
    from pipeline_project.lib.web.settings import DEFAULT_PORT as WEB_PORT

    p = sub.add_parser("dev", help="start the Dagster UI and daemon (`dg dev`) and the project's web server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    p.add_argument("--web-port", type=int, default=WEB_PORT,
                   help=f"web server port (default {WEB_PORT}; 0 = do not start it)")
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("serve", help="the project's web server alone (review pages, progress API)")
    web_server_arguments(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("status", help="items of every domain per stage, and every quarantined file, dead "
                                      "letter and failure with its reason")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--watch", type=float, nargs="?", const=2.0, default=0.0, metavar="SECONDS",
                   help="print again every SECONDS (default 2) until Ctrl-C")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("retry", help="re-queue failed items in the item ledger and re-run their partitions")
    p.add_argument("--domain", choices=domains.names(), help="only this domain")
    p.add_argument("--dead-letters", action="store_true",
                   help="also items that gave up (not quarantined inputs: drop a fixed file in again instead)")
    p.add_argument("--queue", action="store_true",
                   help="queue the runs for the daemon (like `dagster job launch`) instead of running them here")
    p.set_defaults(func=cmd_retry)

    for name in domains.names():
        module = domains.module(name, "cli")
        if module is not None and hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipeline_project.lib.settings import UserError

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["search"]:  # the other domains' commands import Dagster (~2.5 CPU-s); search needs none
            from pipeline_project.defs.documents.cli import search_main

            return search_main(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
