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


import datetime as dt
import json

import dagster as dg

from pipeline_project.defs.observations import partitions, state
from pipeline_project.defs.observations.assets import asset_key, stage_selection
from pipeline_project.defs.observations.config import DatasetConfig
from pipeline_project.defs.observations.resources import ObservationsStore, load_configs
from pipeline_project.lib.warehouse import WarehouseResource


def _current_week() -> str:
    return partitions.week_start(dt.datetime.now(dt.timezone.utc)).isoformat()


def evaluate(config: DatasetConfig, cursor: str | None,
             warehouse: WarehouseResource) -> tuple[list[dg.RunRequest], str, list[str]]:
    """(run requests, new cursor, log lines): the sensor's logic, testable without Dagster.

    Files dated before the dataset's first week are never skipped in silence: each tick names them
    (a log line at error level) until partitioning.start covers them or they are moved."""
    from pipeline_project.defs.observations import files as raw_files

    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    weeks = raw_files.files_by_week(config)
    early = raw_files.early_files(config, weeks)
    notes = [f"ERROR {raw_files.early_files_message(config, early)}"] if early else []
    weeks = {k: v for k, v in weeks.items() if k not in early}
    markers = state.load_markers(warehouse, config)
    now_week = _current_week()
    selection = stage_selection(config)
    requests, new_cursor = [], {}
    for week in sorted(set(weeks) | set(seen)):
        if week > now_week:
            notes.append(f"{week}: files dated in the future, waiting")
            continue
        fp = raw_files.fingerprint(weeks.get(week, []))
        new_cursor[week] = fp
        if seen.get(week) == fp:
            continue
        prev_fp = raw_files.fingerprint(weeks.get(partitions.previous_key(week), []))
        done = state.done_stages(markers, week, fp, prev_fp)
        if all(k.path[-1] in done for k in selection):
            continue
        label = partitions.label_for_key(week)
        notes.append(f"{label}: files changed -> run")
        requests.append(dg.RunRequest(partition_key=week, asset_selection=selection,
                                      run_key=f"{config.name}:{week}:{fp}",
                                      tags={"observations/dataset": config.name, "observations/week": label}))
    requested = {r.partition_key for r in requests}
    if not config.compute.skip_manifold:
        requests += _stale_manifolds(config, markers, requested, notes)
    return requests, json.dumps(new_cursor, sort_keys=True), notes


def _stale_manifolds(config: DatasetConfig, markers: state.Markers, requested: set[str],
                     notes: list[str]) -> list[dg.RunRequest]:
    """Weeks whose manifold used a previous-week tail that has since been re-ingested."""
    out = []
    for week in state.existing_weeks(config):
        marker = markers.get(week, {}).get("manifold")
        if week in requested or marker is None:
            continue
        expected = state.manifold_inputs(markers, week)
        own, _, _ = str(marker.get("inputs", "")).partition("+")
        # only the previous-week part may differ: if this week's own observations changed, its
        # own run (already requested or in flight) recomputes the manifold anyway
        if own == state.consumed_inputs(markers, week) and marker.get("inputs") != expected:
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
        default_status=dg.DefaultSensorStatus.RUNNING if config.sensor_running else dg.DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=config.sensor_interval_seconds,
        asset_selection=[asset_key(config, s) for s in state.STAGES],
    )
    def _sensor(context: dg.SensorEvaluationContext, observations_store: ObservationsStore) -> dg.SensorResult:
        requests, cursor, notes = evaluate(config, context.cursor, observations_store.warehouse)
        for note in notes:
            if note.startswith("ERROR "):
                context.log.error(note[6:])
            else:
                context.log.info(note)
        errors = [n[6:] for n in notes if n.startswith("ERROR ")]
        if not requests and errors:
            return dg.SensorResult(skip_reason=dg.SkipReason(errors[0]), cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor


@dg.definitions
def dataset_sensors() -> dg.Definitions:
    """One file-watching sensor per dataset configured."""
    return dg.Definitions(sensors=[build_sensor(config) for config in load_configs()])
