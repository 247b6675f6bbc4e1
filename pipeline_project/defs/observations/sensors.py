"""A sensor per dataset: new or changed raw files -> runs for the affected weeks.

Why a sensor and not AutomationCondition.eager(): eager only acts on the latest time window,
and a late file for a past week must re-materialize that week and everything downstream.

Cursor: {partition_key: fingerprint}, where the fingerprint digests (path, mtime, size) of the
week's files, so unchanged files never retrigger, a new/rewritten/deleted file retriggers its
week only, and the cursor stays one line per week however many files there are.
A week already done with the same inputs (e.g. by the CLI) is not requested again.
Manifold of week N reads week N-1's tail: when N-1 was re-ingested, a later tick (after that
ingest finished, so there is no race) requests manifold + sql_analysis for N.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from pipeline_project.defs.observations import partitions, state
from pipeline_project.defs.observations.assets import asset_key, stage_selection
from pipeline_project.defs.observations.config import DatasetConfig


def _current_week() -> str:
    return partitions.week_start(dt.datetime.now(dt.timezone.utc)).isoformat()


def evaluate(config: DatasetConfig, cursor: str | None) -> tuple[list[dg.RunRequest], str, list[str]]:
    """(run requests, new cursor, log lines): the sensor's logic, testable without Dagster."""
    from pipeline_project.defs.observations import files as raw_files

    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    weeks = raw_files.files_by_week(config)
    now_week = _current_week()
    selection = stage_selection(config)
    requests, notes, new_cursor = [], [], {}
    for week in sorted(set(weeks) | set(seen)):
        if week > now_week:
            notes.append(f"{week}: files dated in the future, waiting")
            continue
        fp = raw_files.fingerprint(weeks.get(week, []))
        new_cursor[week] = fp
        if seen.get(week) == fp:
            continue
        prev_fp = raw_files.fingerprint(weeks.get(partitions.previous_key(week), []))
        done = state.done_stages(config, week, fp, prev_fp)
        if all(k.path[-1] in done for k in selection):
            continue
        label = partitions.label_for_key(week)
        notes.append(f"{label}: files changed -> run")
        requests.append(dg.RunRequest(partition_key=week, asset_selection=selection,
                                      run_key=f"{config.name}:{week}:{fp}",
                                      tags={"observations/dataset": config.name, "observations/week": label}))
    requested = {r.partition_key for r in requests}
    if not config.compute.skip_manifold:
        requests += _stale_manifolds(config, requested, notes)
    return requests, json.dumps(new_cursor, sort_keys=True), notes


def _stale_manifolds(config: DatasetConfig, requested: set[str], notes: list[str]) -> list[dg.RunRequest]:
    """Weeks whose manifold used a previous-week tail that has since been re-ingested."""
    out = []
    for week in state.existing_weeks(config):
        marker = state.read_marker(config, week, "manifold")
        if week in requested or marker is None:
            continue
        expected = state.manifold_inputs(config, week)
        own, _, _ = str(marker.get("inputs", "")).partition("+")
        # only the previous-week part may differ: if this week's own observations changed, its
        # own run (already requested or in flight) recomputes the manifold anyway
        if own == state.consumed_inputs(config, week) and marker.get("inputs") != expected:
            notes.append(f"{partitions.label_for_key(week)}: previous week changed -> manifold")
            out.append(dg.RunRequest(
                partition_key=week,
                asset_selection=[asset_key(config, "manifold"), asset_key(config, "sql_analysis")],
                run_key=f"{config.name}:{week}:manifold:{expected}",
                tags={"observations/dataset": config.name,
                      "observations/week": partitions.label_for_key(week)}))
    return out


def build_sensor(config: DatasetConfig) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"observations_{config.name}_files",
        description=f"Watches {config.raw_dir}/{config.file_pattern} and runs the affected weeks.",
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=config.sensor_interval_seconds,
        asset_selection=[asset_key(config, s) for s in state.STAGES],
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        requests, cursor, notes = evaluate(config, context.cursor)
        for note in notes:
            context.log.info(note)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor
