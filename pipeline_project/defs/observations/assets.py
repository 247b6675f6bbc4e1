"""Assets per dataset: observations/<dataset>/{weekly_observations, typology, classification,
manifest, manifold, sql_analysis}, all weekly-partitioned with the dataset's own weeks.

Every asset writes files (paths in asset metadata) and returns MaterializeResult, so nothing
flows through an IO manager and any stage can be run alone (ingest-only, compute-only,
skip manifold = asset selections). BackfillPolicy.single_run() lets one run cover a week
range (`dagster asset materialize --partition-range`); each asset then loops over the weeks.
"""

# no `from __future__ import annotations`: Dagster reads these annotations at definition time

import warnings

import dagster as dg

from pipeline_project.defs.observations import checks, partitions, stages, state
from pipeline_project.defs.observations.config import DatasetConfig
from pipeline_project.defs.observations.resources import ObservationsStore, load_configs
from pipeline_project.lib.checks import dead_letters_result

STAGE_DESCRIPTIONS = {
    "weekly_observations": "The week's raw files as long-format rows: partitions/<YYYY-Www>/observations.parquet.",
    "typology": "31 measures per signal (typology_raw.parquet); later weeks reuse the bootstrap week's.",
    "classification": "10 dimensions per signal by two classifiers, with disagreements (typology.parquet).",
    "manifest": "Which engines run for which signal (manifest.yaml).",
    "manifold": "Windowed covariance geometry and eigenpairs (output/*.parquet), with edge overlap.",
    "sql_analysis": "DuckDB reports (output/sql/*.md) and dataset-wide views (<dataset>.duckdb).",
}


def asset_key(config: DatasetConfig, stage: str) -> dg.AssetKey:
    return dg.AssetKey(["observations", config.name, stage])


def _week_keys(context: dg.AssetExecutionContext) -> list[str]:
    return list(context.partition_keys)


def _range_metadata(keys: list[str]) -> dict:
    return {"weeks": dg.MetadataValue.json([partitions.label_for_key(k) for k in keys])}


def build_assets(config: DatasetConfig) -> list[dg.AssetsDefinition]:
    """The six assets of one dataset (their checks are declared on the assets themselves)."""
    with warnings.catch_warnings():  # backfill_policy & the partition mapping flag are "beta"
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _build_assets(config)


def _build_assets(config: DatasetConfig) -> list[dg.AssetsDefinition]:
    key = lambda stage: asset_key(config, stage)  # noqa: E731
    common = dict(partitions_def=partitions.weekly_partitions(config),
                  group_name=f"observations_{config.name}",
                  backfill_policy=dg.BackfillPolicy.single_run(),
                  kinds={"parquet"})
    prev_and_this_week = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0,
                                                       allow_nonexistent_upstream_partitions=True)

    @dg.asset(key=key("weekly_observations"), description=STAGE_DESCRIPTIONS["weekly_observations"],
              check_specs=checks.observation_specs(key("weekly_observations")), **common)
    def weekly_observations(context: dg.AssetExecutionContext, observations_store: ObservationsStore):
        from pipeline_project.defs.observations import files as raw_files

        keys = _week_keys(context)
        weeks = raw_files.files_by_week(config)  # one listing for the whole range
        totals = {"files": 0, "rows": 0, "bytes_read": 0}
        quarantined, empty, signals = [], [], set()
        for week in keys:
            report = stages.ingest(config, week, observations_store.warehouse, observations_store.storage_root,
                                   context.log, weeks.get(week, []))
            context.log.info(f"{partitions.label_for_key(week)}: {report.files_ok}/{report.files} files, "
                             f"{report.rows} rows, {len(report.quarantined)} quarantined")
            totals["files"] += report.files
            totals["rows"] += report.rows
            totals["bytes_read"] += report.bytes_read
            signals |= report.signals
            quarantined += [{"week": partitions.label_for_key(week), **q} for q in report.quarantined]
            if not report.rows:
                empty.append(partitions.label_for_key(week))
        path = state.observations_path(config, keys[0])
        return dg.MaterializeResult(
            metadata={**totals, "dagster/row_count": totals["rows"], "signals": len(signals),
                      "signal_names": dg.MetadataValue.json(sorted(signals)),
                      "quarantined": len(quarantined), "path": dg.MetadataValue.path(str(path)),
                      **_range_metadata(keys)},
            check_results=[dead_letters_result(observations_store.warehouse, state.DOMAIN,
                                               [state.ledger_partition(config, k) for k in keys],
                                               key("weekly_observations"), stages=["ingest"]),
                           checks.has_rows_result(key("weekly_observations"), empty)],
        )

    @dg.asset(key=key("typology"), deps=[weekly_observations], description=STAGE_DESCRIPTIONS["typology"],
              check_specs=checks.typology_specs(key("typology")), **common)
    def typology(context: dg.AssetExecutionContext, observations_store: ObservationsStore):
        keys = _week_keys(context)
        missing, sources, last = {}, {}, None
        for week in keys:
            last = stages.typology(config, week, observations_store.warehouse)
            missing[partitions.label_for_key(week)] = last["missing"]
            sources[partitions.label_for_key(week)] = last["source"]
        preview = last["table"].set_index("signal").T.round(4) if len(last["table"]) else None
        return dg.MaterializeResult(
            metadata={"signals": last["signals"], "source": dg.MetadataValue.json(sources),
                      "path": dg.MetadataValue.path(str(state.typology_raw_path(config, keys[-1]))),
                      "preview": dg.MetadataValue.md(preview.to_markdown() if preview is not None else "(empty)"),
                      **_range_metadata(keys)},
            check_results=[checks.typology_result(key("typology"), missing)],
        )

    @dg.asset(key=key("classification"), deps=[typology, weekly_observations],
              description=STAGE_DESCRIPTIONS["classification"], **common)
    def classification(context: dg.AssetExecutionContext, observations_store: ObservationsStore):
        keys = _week_keys(context)
        disagreements, last = 0, None
        for week in keys:
            last = stages.classify(config, week, observations_store.warehouse)
            disagreements += last["disagreements"]
        table = last["table"]
        cols = ["signal", "n_disagreements", "disagreements"]
        return dg.MaterializeResult(metadata={
            "signals": last["signals"], "disagreements": disagreements,
            "path": dg.MetadataValue.path(str(state.typology_path(config, keys[-1]))),
            "disagreements_by_signal": dg.MetadataValue.md(table[cols].to_markdown(index=False)
                                                           if len(table) else "(empty)"),
            **_range_metadata(keys)})

    @dg.asset(key=key("manifest"), deps=[classification], description=STAGE_DESCRIPTIONS["manifest"],
              kinds={"yaml"}, **{k: v for k, v in common.items() if k != "kinds"})
    def manifest(context: dg.AssetExecutionContext, observations_store: ObservationsStore):
        keys = _week_keys(context)
        last = None
        for week in keys:
            last = stages.build_manifest(config, week, observations_store.warehouse)
        engines = last["manifest"]["engines"]
        return dg.MaterializeResult(metadata={
            "state_geometry_signals": len(engines["state_geometry"]["signals"]),
            "eigendecomposition_signals": len(engines["eigendecomposition"]["signals"]),
            "manifest": dg.MetadataValue.md(f"```yaml\n{last['yaml']}```"),
            "path": dg.MetadataValue.path(str(state.manifest_path(config, keys[-1]))),
            **_range_metadata(keys)})

    @dg.asset(key=key("manifold"), description=STAGE_DESCRIPTIONS["manifold"],
              deps=[manifest, dg.AssetDep(weekly_observations, partition_mapping=prev_and_this_week)],
              **common)
    def manifold(context: dg.AssetExecutionContext, observations_store: ObservationsStore):
        keys = _week_keys(context)
        windows, last = 0, None
        for week in keys:
            last = stages.compute_manifold(config, week, observations_store.warehouse)
            windows += last["windows"]
        return dg.MaterializeResult(metadata={
            "windows": windows, "signals": dg.MetadataValue.json(last["signals"]),
            "overlap_rows_used": last["overlap_rows_used"],
            "path": dg.MetadataValue.path(str(state.output_dir(config, keys[-1]))),
            **_range_metadata(keys)})

    @dg.asset(key=key("sql_analysis"), deps=[manifold, classification],
              description=STAGE_DESCRIPTIONS["sql_analysis"], kinds={"duckdb"},
              **{k: v for k, v in common.items() if k != "kinds"})
    def sql_analysis(context: dg.AssetExecutionContext, observations_store: ObservationsStore):
        keys = _week_keys(context)
        last = None
        for week in keys:
            last = stages.sql_analysis(config, week, observations_store.warehouse)
        return dg.MaterializeResult(metadata={
            **{f"report_{name}": dg.MetadataValue.md(text) for name, (text, _) in last["reports"].items()},
            "views": dg.MetadataValue.json(last["views"]),
            "database": dg.MetadataValue.path(str(config.duckdb_path)),
            **_range_metadata(keys)})

    return [weekly_observations, typology, classification, manifest, manifold, sql_analysis]


@dg.definitions
def dataset_assets() -> dg.Definitions:
    """The six weekly assets of every dataset configured (configs are read, raw files are not)."""
    return dg.Definitions(assets=[a for config in load_configs() for a in build_assets(config)])


def stage_selection(config: DatasetConfig, *, ingest_only: bool = False, compute_only: bool = False,
                    skip_manifold: bool | None = None) -> list[dg.AssetKey]:
    """Asset keys for a run: all stages, or ingest / compute only, optionally without manifold."""
    skip = config.compute.skip_manifold if skip_manifold is None else skip_manifold
    stages_ = state.INGEST_STAGES if ingest_only else state.COMPUTE_STAGES if compute_only else state.STAGES
    return [asset_key(config, s) for s in stages_ if not (skip and s == "manifold")]
