"""Where a week's outputs live, and the per-stage "done" markers that make runs resumable.

Each asset writes its outputs atomically, then `_done/<stage>.json` recording the input
fingerprint it consumed. A stage is done for a week when its marker's fingerprint equals
what the files on disk give now: the CLI's resume, `status` and the sensor all ask this.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from pipeline_project.lib.atomic import read_json, write_json_atomic
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


def marker_path(config: DatasetConfig, key: str, stage: str) -> Path:
    return week_dir(config, key) / "_done" / f"{stage}.json"


def read_marker(config: DatasetConfig, key: str, stage: str) -> dict | None:
    return read_json(marker_path(config, key, stage))


def write_marker(config: DatasetConfig, key: str, stage: str, inputs: str, **meta) -> None:
    write_json_atomic(marker_path(config, key, stage),
                      {"stage": stage, "inputs": inputs, "finished_at": time.time(), **meta})


def consumed_inputs(config: DatasetConfig, key: str) -> str:
    """The files fingerprint this week's observations were built from (empty-week's if none)."""
    marker = read_marker(config, key, "weekly_observations")
    return marker["inputs"] if marker else EMPTY_FINGERPRINT


def manifold_inputs(config: DatasetConfig, key: str) -> str:
    """Manifold also reads the previous week's tail (the overlap), so both fingerprints count."""
    return f"{consumed_inputs(config, key)}+{consumed_inputs(config, partitions.previous_key(key))}"


def expected_inputs(stage: str, week_fp: str, prev_fp: str) -> str:
    return f"{week_fp}+{prev_fp}" if stage == "manifold" else week_fp


def done_stages(config: DatasetConfig, key: str, week_fp: str, prev_fp: str) -> list[str]:
    done = []
    for stage in STAGES:
        marker = read_marker(config, key, stage)
        if marker and marker.get("inputs") == expected_inputs(stage, week_fp, prev_fp):
            done.append(stage)
    return done


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
