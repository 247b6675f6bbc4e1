"""Three jobs per dataset: every stage, ingest only, compute only (weekly-partitioned, so a week range
can be launched or backfilled from the UI or `dagster job launch`)."""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.observations import config as config_mod
from pipeline_project.defs.observations.assets import stage_selection
from pipeline_project.defs.observations.partitions import weekly_partitions
from pipeline_project.defs.observations.resources import load_configs


def weekly_job_name(dataset: str) -> str:
    return f"observations_{dataset}_weekly"


def jobs_for(config: config_mod.DatasetConfig) -> list[dg.UnresolvedAssetJobDefinition]:
    part = weekly_partitions(config)
    make = lambda name, keys, what: dg.define_asset_job(  # noqa: E731
        name, selection=keys, partitions_def=part, description=f"{what} for dataset {config.name}.")
    return [
        make(weekly_job_name(config.name), stage_selection(config, skip_manifold=False), "Every stage"),
        make(f"observations_{config.name}_ingest", stage_selection(config, ingest_only=True),
             "Raw files -> observations.parquet"),
        make(f"observations_{config.name}_compute", stage_selection(config, compute_only=True, skip_manifold=False),
             "Typology -> SQL from existing observations"),
    ]


@dg.definitions
def dataset_jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[job for config in load_configs() for job in jobs_for(config)])


def rerun_target(partition_key: str) -> tuple[str, str]:
    """The ledger's partition `<dataset>:<week's Monday>` -> (that dataset's weekly job, the week)."""
    dataset, _, week = partition_key.partition(":")
    return weekly_job_name(dataset), week
