"""The asset check every domain has: no dead letters in the partition just materialized.

Declared on the asset (`check_specs=[dead_letters_spec(...)]`) and answered from the item ledger inside
the same run, so the UI shows the count next to the materialization without a second pass.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect

NO_DEAD_LETTERS = "no_dead_letters"


def dead_letters_spec(asset, what: str = "items") -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        NO_DEAD_LETTERS, asset=asset,
        description=f"Warns when {what} of the partition ended in the dead letters (unreadable input, or "
        "attempts exhausted); `pipeline-project status` lists them with their errors and "
        "`pipeline-project retry --dead-letters` re-queues them.")


def dead_letters_result(warehouse: DuckDBResource, domain: str, partition_key: str | list[str] | None,
                        asset_key: dg.AssetKey | None = None, stages: list[str] | None = None,
                        limit: int = 50) -> dg.AssetCheckResult:
    """The check's answer for one partition (or several: a single-run backfill of a range)."""
    keys = [partition_key] if isinstance(partition_key, str) or partition_key is None else partition_key
    with connect(warehouse) as conn:
        rows = [r for key in keys
                for r in ledger.select(conn, domain=domain, partition_key=key, states=[ledger.DEAD_LETTER])]
    if stages is not None:
        rows = [r for r in rows if r.stage in stages]
    listing = "\n".join(f"- `{r.label or r.item_id}` [{r.stage}]: {r.last_error}" for r in rows[:limit])
    return dg.AssetCheckResult(
        check_name=NO_DEAD_LETTERS,
        asset_key=asset_key,
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"dead_letters": len(rows),
                  "items": dg.MetadataValue.md(listing + ("\n- …" if len(rows) > limit else "") or "none")},
    )
