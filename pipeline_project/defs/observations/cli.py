"""`pipeline-project observations run|status|reset CONFIG` — the domain's CLI for scripts.

run    materializes every week that is due, in this process, week by week (oldest first), so
       a killed run resumes at the first week/stage not done. Due = a stage whose done-marker
       is missing or was made from other input files (and, with $DAGSTER_HOME set, a stage
       Dagster has no materialization for). Instance: $DAGSTER_HOME if set, else ephemeral.
status per week: files, rows, signals, quarantined, stages done / due.
reset  deletes a week range's outputs and wipes Dagster's materializations for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager

from pipeline_project.defs.observations import partitions, state
from pipeline_project.defs.observations.config import ConfigError, DatasetConfig, load_config


@contextmanager
def _instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance, True
    else:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance, False


def _materialized(instance, config: DatasetConfig) -> dict[str, set[str]]:
    from pipeline_project.defs.observations.assets import asset_key

    return {s: instance.get_materialized_partitions(asset_key(config, s)) for s in state.STAGES}


def _week_table(config: DatasetConfig) -> dict[str, tuple[str, str, int]]:
    """partition key -> (files fingerprint, previous week's fingerprint, file count)."""
    from pipeline_project.defs.observations import files as raw_files

    weeks = raw_files.files_by_week(config)
    keys = sorted(set(weeks) | set(state.existing_weeks(config)))
    fp = {k: raw_files.fingerprint(weeks.get(k, [])) for k in keys}
    empty = raw_files.fingerprint([])
    return {k: (fp[k], fp.get(partitions.previous_key(k), empty), len(weeks.get(k, []))) for k in keys}


def due_stages(config: DatasetConfig, key: str, fp: str, prev_fp: str, wanted: list[str],
               materialized: dict[str, set[str]] | None) -> list[str]:
    """Wanted stages not done; once one is due, every later wanted stage is due too."""
    done = set(state.done_stages(config, key, fp, prev_fp))
    if materialized is not None:
        done = {s for s in done if key in materialized.get(s, set())}
    for i, stage in enumerate(wanted):
        if stage not in done:
            return wanted[i:]
    return []


def cmd_run(args: argparse.Namespace) -> int:
    import dagster as dg

    from pipeline_project.defs.observations.assets import build_assets, stage_selection
    from pipeline_project.defs.observations.resources import ObservationsStore

    config = load_config(args.config)
    wanted = [k.path[-1] for k in stage_selection(config, ingest_only=args.ingest_only,
                                                  compute_only=args.compute_only,
                                                  skip_manifold=args.skip_manifold or None)]
    assets = build_assets(config)
    by_stage = {a.key.path[-1]: a.key for a in assets}
    now = partitions.week_start(__import__("datetime").datetime.now(__import__("datetime").timezone.utc))
    failures = ran = 0
    with _instance() as (instance, persistent):
        for key, (fp, prev_fp, n_files) in _week_table(config).items():
            label = partitions.label_for_key(key)
            if key > now.isoformat():
                print(f"{label}: files dated in the future, skipped")
                continue
            if args.compute_only and state.read_marker(config, key, "weekly_observations") is None:
                print(f"{label}: not ingested yet, skipped (compute-only)")
                continue
            materialized = _materialized(instance, config) if persistent else None
            due = due_stages(config, key, fp, prev_fp, wanted, materialized)
            if not due:
                print(f"{label}: up to date")
                continue
            print(f"{label}: running {', '.join(due)} ({n_files} files)", flush=True)
            result = dg.materialize(assets, partition_key=key, instance=instance,
                                    selection=[by_stage[s] for s in due], raise_on_error=False,
                                    resources={"observations_store": ObservationsStore.from_env()},
                                    tags={"observations/dataset": config.name, "observations/week": label})
            ran += 1
            if not result.success:
                failures += 1
                print(f"{label}: FAILED (see the log above); continuing with the next week", file=sys.stderr)
    print(f"done: {ran} week(s) run, {failures} failed")
    return 1 if failures else 0


def week_status(config: DatasetConfig, materialized: dict[str, set[str]] | None) -> list[dict]:
    rows = []
    for key, (fp, prev_fp, n_files) in _week_table(config).items():
        marker = state.read_marker(config, key, "weekly_observations") or {}
        done = state.done_stages(config, key, fp, prev_fp)
        row = {"week": partitions.label_for_key(key), "partition_key": key, "files": n_files,
               "rows": marker.get("rows"), "signals": len(marker.get("signals", [])),
               "quarantined": len(marker.get("quarantined", [])), "done": done,
               "due": [s for s in state.STAGES if s not in done]}
        if materialized is not None:
            row["materialized"] = [s for s in state.STAGES if key in materialized[s]]
        rows.append(row)
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    with _instance() as (instance, persistent):
        rows = week_status(config, _materialized(instance, config) if persistent else None)
    if args.json:
        print(json.dumps({"dataset": config.name, "weeks": rows}, indent=2))
        return 0
    print(f"dataset {config.name}: {len(rows)} week(s) under {config.output_dir}")
    print(f"{'week':10} {'files':>6} {'rows':>10} {'signals':>7} {'quar':>4}  stages done")
    for r in rows:
        stages_ = "all" if not r["due"] else ",".join(r["done"]) or "-"
        print(f"{r['week']:10} {r['files']:>6} {r['rows'] if r['rows'] is not None else '-':>10} "
              f"{r['signals']:>7} {r['quarantined']:>4}  {stages_}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from pipeline_project.defs.observations import stages
    from pipeline_project.defs.observations.assets import asset_key

    config = load_config(args.config)
    low = partitions.normalize_week(args.from_week) if args.from_week else "0000-00-00"
    high = partitions.normalize_week(args.to_week) if args.to_week else "9999-99-99"
    keys = [k for k in _week_table(config) if low <= k <= high]
    if not keys:
        print("nothing to reset")
        return 0
    labels = [partitions.label_for_key(k) for k in keys]
    print(f"reset {len(keys)} week(s) of {config.name}: {labels[0]} .. {labels[-1]}")
    if not args.yes:
        if not sys.stdin.isatty():
            print("refusing without --yes (stdin is not a terminal)", file=sys.stderr)
            return 2
        if input("delete their outputs and materialization history? [y/N] ").strip().lower() not in ("y", "yes"):
            print("aborted")
            return 1
    removed = sum(stages.reset_week(config, k) for k in keys)
    note = ""
    with _instance() as (instance, persistent):
        if persistent:
            try:
                for stage in state.STAGES:
                    instance.wipe_asset_partitions(asset_key(config, stage), keys)
                note = ", wiped their Dagster materializations"
            except NotImplementedError:
                # the default SQLite event log cannot wipe single partitions (Postgres can); the
                # weeks still re-run, because `run` and the sensor require the done-markers too
                note = (" (this Dagster storage cannot wipe single partitions: the UI keeps showing"
                        " their last materialization until they re-run)")
    print(f"removed outputs of {removed} week(s){note}")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("observations", help="sensor recordings -> weekly partitions",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="observations_command", required=True)
    run = sub.add_parser("run", help="materialize every week that is due (resumable)")
    run.add_argument("config", help="dataset YAML")
    only = run.add_mutually_exclusive_group()
    only.add_argument("--ingest-only", action="store_true", help="only weekly_observations")
    only.add_argument("--compute-only", action="store_true", help="only stages after ingest")
    run.add_argument("--skip-manifold", action="store_true", help="leave out the manifold stage")
    run.set_defaults(func=cmd_run)
    status = sub.add_parser("status", help="per-week files, rows, signals, stages done")
    status.add_argument("config")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    reset = sub.add_parser("reset", help="delete outputs + Dagster history of a week range")
    reset.add_argument("config")
    reset.add_argument("--from", dest="from_week", help="first week: 2023-W01 or a date in it")
    reset.add_argument("--to", dest="to_week", help="last week (inclusive)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(func=cmd_reset)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["observations"]:
        argv.insert(0, "observations")
    parser = argparse.ArgumentParser(prog="pipeline-project")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
