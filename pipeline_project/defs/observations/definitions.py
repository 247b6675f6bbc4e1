"""The observations code location slice: per dataset configured, six weekly assets with their
checks, one sensor and three jobs (all / ingest / compute); one shared resource.

Load cost: reads the dataset YAMLs only (never the raw files). A bad YAML does not take the
whole code location down: it is logged and that dataset is left out.
"""

from __future__ import annotations

import logging

import dagster as dg

from pipeline_project.defs.observations import config as config_mod
from pipeline_project.defs.observations.assets import build_assets, stage_selection
from pipeline_project.defs.observations.partitions import weekly_partitions
from pipeline_project.defs.observations.resources import ObservationsStore
from pipeline_project.defs.observations.sensors import build_sensor

log = logging.getLogger(__name__)


def jobs_for(config: config_mod.DatasetConfig) -> list[dg.UnresolvedAssetJobDefinition]:
    part = weekly_partitions(config)
    make = lambda suffix, keys, what: dg.define_asset_job(  # noqa: E731
        f"observations_{config.name}_{suffix}", selection=keys, partitions_def=part,
        description=f"{what} for dataset {config.name}.")
    return [
        make("weekly", stage_selection(config, skip_manifold=False), "Every stage"),
        make("ingest", stage_selection(config, ingest_only=True), "Raw files -> observations.parquet"),
        make("compute", stage_selection(config, compute_only=True, skip_manifold=False),
             "Typology -> SQL from existing observations"),
    ]


def build_definitions(configs: list[config_mod.DatasetConfig]) -> dg.Definitions:
    assets, sensors, jobs = [], [], []
    for cfg in configs:
        assets += build_assets(cfg)
        sensors.append(build_sensor(cfg))
        jobs += jobs_for(cfg)
    return dg.Definitions(assets=assets, sensors=sensors, jobs=jobs,
                          resources={"observations_store": ObservationsStore.from_env()})


def _load_configs() -> list[config_mod.DatasetConfig]:
    configs = []
    for path in config_mod.config_paths():
        try:
            configs.append(config_mod.load_config(path))
        except config_mod.ConfigError as exc:
            log.error("observations: skipping dataset config: %s", exc)
    names = [c.name for c in configs]
    return [c for c in configs if names.count(c.name) == 1 or log.error("duplicate dataset %s", c.name)]


defs = build_definitions(_load_configs())
