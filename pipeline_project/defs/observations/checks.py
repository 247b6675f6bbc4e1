"""Asset checks, yielded from inside the assets that know the answer (no second file scan).

- weekly_observations / no_dead_letters (WARN): files of the week that could not be read; each is
  copied to quarantine with a .reason.txt and is a dead letter in the item ledger.
- weekly_observations / has_observations (WARN): the week produced no rows at all.
- typology / typology_complete (ERROR): every ingested signal has a typology row.
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.lib.checks import dead_letters_spec

HAS_OBSERVATIONS = "has_observations"
TYPOLOGY_COMPLETE = "typology_complete"


def observation_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dead_letters_spec(key, "raw files"),
        dg.AssetCheckSpec(HAS_OBSERVATIONS, asset=key,
                          description="Warns when a week produced no observations."),
    ]


def typology_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(TYPOLOGY_COMPLETE, asset=key,
                              description="Every ingested signal has its 31 measures.")]


def has_rows_result(key: dg.AssetKey, empty_weeks: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=HAS_OBSERVATIONS,
        passed=not empty_weeks,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"empty_weeks": dg.MetadataValue.json(empty_weeks)},
    )


def typology_result(key: dg.AssetKey, missing: dict[str, list[str]]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=TYPOLOGY_COMPLETE,
        passed=not any(missing.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"missing_signals": dg.MetadataValue.json(missing)},
    )
