"""Dataset configs: one YAML file per dataset (see template.yaml for every key, annotated).

Where configs are found: $PIPELINE_OBSERVATIONS_CONFIGS (a folder, a file, or several separated
by os.pathsep), default $PIPELINE_DATA_DIR/observations/datasets/*.yaml. The dataset name
(`name:` or the file stem) keys the asset keys, the outputs and the quarantine folder.
Relative paths inside a config resolve against $PIPELINE_DATA_DIR, so a config stays valid
when the storage root moves; ${VARS} and ~ are expanded.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from pipeline_project.lib.settings import UserError, data_dir

CONFIGS_ENV = "PIPELINE_OBSERVATIONS_CONFIGS"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ConfigError(UserError, ValueError):
    """A dataset YAML is missing a required key or has a bad value (message names the file)."""


@dataclass(frozen=True)
class ConverterConfig:
    type: str = "mat"
    time_variable: str | None = None  # default: first of TIME_CANDIDATES present in the file
    time_format: str = "auto"  # auto | relative | posix | datenum
    names_variable: str | None = None  # cell/char array naming the columns of a 2-D matrix
    signals: tuple[str, ...] = ()  # restrict to these variables (empty: every numeric variable)
    sampling_rate_hz: float = 1.0  # used when a file has no time variable (and no fs scalar)
    channels: str = "auto"  # auto | columns | rows: how a 2-D matrix holds its channels
    chunk_samples: int = 262_144  # v7.3: samples read per slice (never the whole file)


@dataclass(frozen=True)
class PartitioningConfig:
    strategy: str = "weekly"
    # first week (any date; snapped to its Monday); None = the week of the earliest file (partitions.py)
    start: str | None = None
    week_from: str = "mtime"  # mtime (like the source system) | content (first timestamp inside)
    files_per_flush: int = 50
    max_buffer_rows: int = 2_000_000  # also flush when the buffer holds this many rows


@dataclass(frozen=True)
class ComputeConfig:
    overlap_samples: int = 2048
    skip_manifold: bool = False
    window_samples: int = 256
    window_step: int = 128
    typology_max_points: int = 20_000  # catch22 runs on at most this many (strided) points


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    raw_dir: Path
    output_dir: Path
    source: Path | None = None
    file_pattern: str = "**/*.mat"
    reuse_typology: bool = True
    sensor_interval_seconds: int = 60
    sensor_running: bool = True  # sensor.enabled: false = weeks run only when asked (UI, backfill, CLI)
    converter: ConverterConfig = field(default_factory=ConverterConfig)
    partitioning: PartitioningConfig = field(default_factory=PartitioningConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)

    @property
    def start_date(self) -> dt.date | None:
        """The configured first week's Monday, or None when partitioning.start is not set."""
        if self.partitioning.start in (None, ""):
            return None
        day = dt.date.fromisoformat(str(self.partitioning.start)[:10])
        return day - dt.timedelta(days=day.weekday())

    @property
    def partitions_dir(self) -> Path:
        return self.output_dir / "partitions"

    @property
    def duckdb_path(self) -> Path:
        return self.output_dir / f"{self.name}.duckdb"



def _resolve(raw: str) -> Path:
    path = Path(os.path.expanduser(os.path.expandvars(str(raw))))
    return path if path.is_absolute() else (data_dir() / path)


def _section(cls, raw: Any, where: str):
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
    values = dict(raw)
    if "signals" in values:
        values["signals"] = tuple(values["signals"] or ())
    return cls(**values)


def parse_config(raw: dict, source: Path | None = None, default_name: str | None = None) -> DatasetConfig:
    where = str(source) if source else "<config>"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping")
    paths = raw.get("paths") or {}
    for key in ("raw_dir", "output_dir"):
        if not paths.get(key):
            raise ConfigError(f"{where}: paths.{key} is required")
    name = str(raw.get("name") or default_name or "")
    if not _NAME_RE.match(name):
        raise ConfigError(f"{where}: dataset name {name!r} must be letters, digits, underscores")
    bootstrap = raw.get("bootstrap") or {}
    partitioning = _section(PartitioningConfig, raw.get("partitioning"), f"{where}: partitioning")
    if partitioning.strategy != "weekly":
        raise ConfigError(f"{where}: partitioning.strategy must be 'weekly'")
    if partitioning.week_from not in ("mtime", "content"):
        raise ConfigError(f"{where}: partitioning.week_from must be mtime or content")
    compute = _section(ComputeConfig, raw.get("compute"), f"{where}: compute")
    if compute.window_samples < 2 or compute.window_step < 1 or compute.overlap_samples < 0:
        raise ConfigError(f"{where}: compute window/step/overlap out of range")
    config = DatasetConfig(
        name=name,
        raw_dir=_resolve(paths["raw_dir"]),
        output_dir=_resolve(paths["output_dir"]),
        source=source,
        file_pattern=str(paths.get("file_pattern") or "**/*.mat"),
        reuse_typology=bool(bootstrap.get("reuse_typology", True)),
        sensor_interval_seconds=int((raw.get("sensor") or {}).get("minimum_interval_seconds", 60)),
        sensor_running=bool((raw.get("sensor") or {}).get("enabled", True)),
        converter=_section(ConverterConfig, raw.get("converter"), f"{where}: converter"),
        partitioning=partitioning,
        compute=compute,
    )
    config.start_date  # validate the date now, with the file name in the message
    return config


def load_config(path: str | Path) -> DatasetConfig:
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    try:
        return parse_config(raw, source=path, default_name=path.stem.replace("-", "_"))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: {exc}") from None


def config_paths() -> list[Path]:
    """The dataset YAMLs to load (a folder glob only: raw data is never scanned here)."""
    spec = os.environ.get(CONFIGS_ENV) or str(data_dir() / "observations" / "datasets")
    found: list[Path] = []
    for part in filter(None, spec.split(os.pathsep)):
        path = Path(part)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            found.append(path)
    return found


def load_all() -> list[DatasetConfig]:
    configs = [load_config(p) for p in config_paths()]
    names = [c.name for c in configs]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"duplicate dataset names in observation configs: {sorted(duplicates)}")
    return configs
