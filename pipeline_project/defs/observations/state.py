"""Where a week's outputs live, and the per-stage "done" records that make runs resumable.

Each asset writes its outputs atomically, then records the stage as done for the week in the item
ledger (domain "observations", item "<dataset>/<YYYY-Www>", detail = the input fingerprint it
consumed and its counts). A stage is done for a week when that fingerprint equals what the files
on disk give now: the CLI's resume, `status` and the sensor all ask this.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import WarehouseResource, connect
from pipeline_project.defs.observations import partitions
from pipeline_project.defs.observations.config import DatasetConfig

STAGES = ("weekly_observations", "typology", "classification", "manifest", "manifold", "sql_analysis")
INGEST_STAGES = ("weekly_observations",)
COMPUTE_STAGES = STAGES[1:]
EMPTY_FINGERPRINT = hashlib.sha256().hexdigest()[:32]  # = files.fingerprint([]): a week without files


def week_dir(config: DatasetConfig, partition_key: str) -> Path:
    return config.partitions_dir / partitions.label_for_key(partition_key)


def observations_path(config: DatasetConfig, key: str) -> Path:
    return week_dir(config, key) / "observations.parquet"


def typology_raw_path(config: DatasetConfig, key: str) -> Path:
    return week_dir(config, key) / "typology_raw.parquet"


def typology_path(config: DatasetConfig, key: str) -> Path:
    return week_dir(config, key) / "typology.parquet"


def manifest_path(config: DatasetConfig, key: str) -> Path:
    return week_dir(config, key) / "manifest.yaml"


def output_dir(config: DatasetConfig, key: str) -> Path:
    return week_dir(config, key) / "output"


def bootstrap_dir(config: DatasetConfig) -> Path:
    return config.output_dir / "bootstrap"


DOMAIN = "observations"
Markers = dict[str, dict[str, dict]]  # partition key -> stage -> marker


def week_item(config: DatasetConfig, key: str) -> str:
    """A week's ledger item id: dataset and ISO week."""
    return f"{config.name}/{partitions.label_for_key(key)}"


def ledger_partition(config: DatasetConfig, key: str) -> str:
    """The ledger's partition for a dataset's week: `<dataset>:<week's Monday>` (jobs.rerun_target)."""
    return f"{config.name}:{key}"


def load_markers(warehouse: WarehouseResource, config: DatasetConfig) -> Markers:
    """Every done-record of the dataset, read in one query."""
    prefix = f"{config.name}:"
    with connect(warehouse) as conn:
        ledger.ensure_ledger(conn)
        rows = conn.execute(
            f"""SELECT partition_key, stage, detail FROM {ledger.TABLE}
                WHERE domain = ? AND state = ? AND stage IN (SELECT unnest(?)) AND starts_with(partition_key, ?)""",
            [DOMAIN, ledger.DONE, list(STAGES), prefix]).fetchall()
    out: Markers = {}
    for partition, stage, detail in rows:
        out.setdefault(partition[len(prefix):], {})[stage] = json.loads(detail or "{}")
    return out


def read_marker(warehouse: WarehouseResource, config: DatasetConfig, key: str, stage: str) -> dict | None:
    return load_markers(warehouse, config).get(key, {}).get(stage)


def write_marker(warehouse: WarehouseResource, config: DatasetConfig, key: str, stage: str, inputs: str,
                 **meta) -> None:
    entry = ledger.Entry(DOMAIN, week_item(config, key), stage, ledger.DONE, ledger_partition(config, key),
                         label=f"{config.name} {partitions.label_for_key(key)}", attempts_delta=1,
                         detail={"stage": stage, "inputs": inputs, "finished_at": time.time(), **meta})
    with connect(warehouse) as conn:
        ledger.upsert(conn, [entry])


def forget_weeks(warehouse: WarehouseResource, config: DatasetConfig, keys: list[str]) -> None:
    """Drop the weeks' done-records and file records (reset): they run again from scratch."""
    with connect(warehouse) as conn:
        ledger.ensure_ledger(conn)
        conn.execute(f"DELETE FROM {ledger.TABLE} WHERE domain = ? AND partition_key IN (SELECT unnest(?))",
                     [DOMAIN, [ledger_partition(config, k) for k in keys]])


def consumed_inputs(markers: Markers, key: str) -> str:
    """The files fingerprint this week's observations were built from (empty-week's if none)."""
    marker = markers.get(key, {}).get("weekly_observations")
    return marker["inputs"] if marker else EMPTY_FINGERPRINT


def manifold_inputs(markers: Markers, key: str) -> str:
    """Manifold also reads the previous week's tail (the overlap), so both fingerprints count."""
    return f"{consumed_inputs(markers, key)}+{consumed_inputs(markers, partitions.previous_key(key))}"


def expected_inputs(stage: str, week_fp: str, prev_fp: str) -> str:
    return f"{week_fp}+{prev_fp}" if stage == "manifold" else week_fp


def done_stages(markers: Markers, key: str, week_fp: str, prev_fp: str) -> list[str]:
    week = markers.get(key, {})
    return [stage for stage in STAGES
            if week.get(stage, {}).get("inputs") == expected_inputs(stage, week_fp, prev_fp)]


def existing_weeks(config: DatasetConfig) -> list[str]:
    """Partition keys with an output folder, oldest first."""
    if not config.partitions_dir.is_dir():
        return []
    keys = []
    for child in config.partitions_dir.iterdir():
        try:
            keys.append(partitions.key_for_label(child.name))
        except ValueError:
            continue
    return sorted(keys)
