"""`pipeline-project observations run|status|reset CONFIG` — the domain's CLI for scripts.

run    materializes every week that is due, in this process, week by week (oldest first), so
       a killed run resumes at the first week/stage not done. Due = a stage with no done-record
       in the item ledger, or one made from other input files (and, with $DAGSTER_HOME set, a
       stage Dagster has no materialization for). Instance: $DAGSTER_HOME if set, else ephemeral.
       Prints one line per week and stage with counts, and a summary; Dagster's full event log
       goes to a file under $PIPELINE_DATA_DIR/logs (and to the terminal with --verbose).
status per week: files, rows, signals, quarantined, stages done / due.
reset  deletes a week range's outputs and wipes Dagster's materializations for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
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
    """partition key -> (files fingerprint, previous week's fingerprint, file count), from the first week on."""
    from pipeline_project.defs.observations import files as raw_files

    weeks = raw_files.files_by_week(config)
    early = raw_files.early_files(config, weeks)
    keys = sorted((set(weeks) - set(early)) | set(state.existing_weeks(config)))
    fp = {k: raw_files.fingerprint(weeks.get(k, [])) for k in keys}
    empty = raw_files.fingerprint([])
    return {k: (fp[k], fp.get(partitions.previous_key(k), empty), len(weeks.get(k, []))) for k in keys}


def due_stages(markers: state.Markers, key: str, fp: str, prev_fp: str, wanted: list[str],
               materialized: dict[str, set[str]] | None) -> list[str]:
    """Wanted stages not done; once one is due, every later wanted stage is due too."""
    done = set(state.done_stages(markers, key, fp, prev_fp))
    if materialized is not None:
        done = {s for s in done if key in materialized.get(s, set())}
    for i, stage in enumerate(wanted):
        if stage not in done:
            return wanted[i:]
    return []


# what each stage's line shows, from its materialization metadata
STAGE_COUNTS = {
    "weekly_observations": ["files", "rows", "signals", "quarantined"],
    "typology": ["signals"],
    "classification": ["signals", "disagreements"],
    "manifest": ["state_geometry_signals", "eigendecomposition_signals"],
    "manifold": ["windows", "overlap_rows_used"],
    "sql_analysis": [],
}


def _refuse_early_files(config: DatasetConfig) -> DatasetConfig | None:
    """Files before the first week: refuse (start set by the user) or move the first week back (derived).
    Returns the config to go on with, or None to stop."""
    from pipeline_project.defs.observations import files as raw_files

    early = raw_files.early_files(config, raw_files.files_by_week(config))
    if not early:
        return config
    message = raw_files.early_files_message(config, early)
    print(f"error: {message}" if config.start_date is not None else f"note: {message}", file=sys.stderr)
    return None if config.start_date is not None else config


def cmd_run(args: argparse.Namespace) -> int:
    import datetime as dt

    import dagster as dg

    from pipeline_project.defs.observations.assets import build_assets, stage_selection
    from pipeline_project.defs.observations.resources import observations_store
    from pipeline_project.lib import progress

    config = _refuse_early_files(load_config(args.config))
    if config is None:
        return 2
    wanted = [k.path[-1] for k in stage_selection(config, ingest_only=args.ingest_only,
                                                  compute_only=args.compute_only,
                                                  skip_manifold=args.skip_manifold or None)]
    assets = build_assets(config)
    by_stage = {a.key.path[-1]: a.key for a in assets}
    store = observations_store()
    log_file = progress.log_path(f"observations-{config.name}")
    now = partitions.week_start(dt.datetime.now(dt.timezone.utc)).isoformat()
    totals = {"weeks": 0, "stages": 0, "files": 0, "rows": 0, "quarantined": 0, "failed": 0}
    started = time.monotonic()
    print(f"dataset {config.name}: weeks from {partitions.label_for_key(config_first_week(config))}; "
          f"full log: {log_file}", flush=True)
    with _instance() as (instance, persistent):
        markers = state.load_markers(store.warehouse, config)
        for key, (fp, prev_fp, n_files) in _week_table(config).items():
            label = partitions.label_for_key(key)
            if key > now:
                print(f"{label}  skipped: files dated in the future")
                continue
            if args.compute_only and "weekly_observations" not in markers.get(key, {}):
                print(f"{label}  skipped: not ingested yet (compute-only)")
                continue
            due = due_stages(markers, key, fp, prev_fp, wanted, _materialized(instance, config) if persistent else None)
            if not due:
                print(f"{label}  up to date")
                continue

            def show(mat: dg.AssetMaterialization, label=label) -> None:
                stage = mat.asset_key.path[-1]
                meta = mat.metadata
                for name in ("files", "rows", "quarantined"):
                    value = getattr(meta.get(name), "value", meta.get(name))
                    if stage == "weekly_observations" and isinstance(value, int):
                        totals[name] += value
                totals["stages"] += 1
                print(f"{label}  {stage:<20} done  {progress.counts_text(meta, STAGE_COUNTS.get(stage, []))}",
                      flush=True)

            outcome = progress.run_and_follow(
                instance,
                lambda tags, key=key, label=label, due=due: dg.materialize(
                    assets, partition_key=key, instance=instance, selection=[by_stage[s] for s in due],
                    raise_on_error=False, resources={"observations_store": store}, run_config=progress.QUIET,
                    tags={**tags, "observations/dataset": config.name, "observations/week": label}),
                on_materialization=show, log_file=log_file, verbose=args.verbose)
            totals["weeks"] += 1
            markers = state.load_markers(store.warehouse, config)
            if not outcome.success:
                totals["failed"] += 1
                print(f"{label}  FAILED after {outcome.seconds:.1f}s {outcome.error}(details: {log_file}); "
                      "continuing with the next week", file=sys.stderr)
    print(f"done: {totals['weeks']} week(s) run, {totals['stages']} stage(s) materialized, {totals['files']} files, "
          f"{totals['rows']:,} rows, {totals['quarantined']} quarantined, {totals['failed']} failed, "
          f"{time.monotonic() - started:.1f}s. Full log: {log_file}")
    return 1 if totals["failed"] else 0


def config_first_week(config: DatasetConfig) -> str:
    from pipeline_project.defs.observations.files import first_week

    return first_week(config).isoformat()


def week_status(config: DatasetConfig, materialized: dict[str, set[str]] | None) -> list[dict]:
    from pipeline_project.defs.observations.resources import observations_store

    rows = []
    markers = state.load_markers(observations_store().warehouse, config)
    for key, (fp, prev_fp, n_files) in _week_table(config).items():
        marker = markers.get(key, {}).get("weekly_observations") or {}
        done = state.done_stages(markers, key, fp, prev_fp)
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
    from pipeline_project.defs.observations.resources import observations_store

    removed = sum(stages.reset_week(config, k) for k in keys)
    state.forget_weeks(observations_store().warehouse, config, keys)
    note = ""
    with _instance() as (instance, persistent):
        if persistent:
            try:
                for stage in state.STAGES:
                    instance.wipe_asset_partitions(asset_key(config, stage), keys)
                note = ", wiped their Dagster materializations"
            except NotImplementedError:
                # the default SQLite event log cannot wipe single partitions (Postgres can); the
                # weeks still re-run, because `run` and the sensor require the ledger's done-records too
                note = (" (this Dagster storage cannot wipe single partitions: the UI keeps showing"
                        " their last materialization until they re-run)")
    print(f"removed outputs of {removed} week(s){note}")
    return 0


def status(common) -> dict:
    """Per dataset configured: weeks with each stage done and raw files read or quarantined (item ledger)."""
    from pipeline_project.defs.observations.resources import load_configs
    from pipeline_project.lib import ledger
    from pipeline_project.lib.warehouse import connect

    with connect(common.warehouse) as conn:
        ledger.ensure_ledger(conn)
        rows = conn.execute(
            f"""SELECT split_part(item_id, '/', 1) AS dataset, stage, state, count(*) FROM {ledger.TABLE}
                WHERE domain = ? GROUP BY 1, 2, 3""", [state.DOMAIN]).fetchall()
    counts: dict = {}
    for dataset, stage, st, n in rows:
        counts.setdefault(dataset, {}).setdefault(stage, {})[st] = n
    datasets = {}
    lines = []
    for config in load_configs():
        c = counts.get(config.name, {})
        weeks = {stage: c.get(stage, {}).get(ledger.DONE, 0) for stage in state.STAGES}
        files = c.get("ingest", {})
        datasets[config.name] = {"weeks_done": weeks, "files": files}
        lines.append(f"dataset {config.name}: {weeks['weekly_observations']} week(s) ingested, "
                     f"{weeks['sql_analysis']} fully analysed; {files.get(ledger.DONE, 0)} files read, "
                     f"{files.get(ledger.DEAD_LETTER, 0)} quarantined")
    return {"datasets": datasets, "lines": lines}


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
    run.add_argument("--verbose", action="store_true",
                     help="also print Dagster's full event log (always written to a file under $PIPELINE_DATA_DIR/logs)")
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
