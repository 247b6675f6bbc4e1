"""One function per stage and week: read inputs from disk, write outputs atomically, record the
stage done in the item ledger, return a summary. Assets (assets.py) and tests call these; nothing here
knows about Dagster.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd
import yaml

from pipeline_project.lib import ledger
from pipeline_project.lib.atomic import atomic_path, read_json, write_json_atomic, write_text_atomic
from pipeline_project.lib.warehouse import WarehouseResource, connect
from pipeline_project.defs.observations import classification, manifest as manifest_mod, manifold
from pipeline_project.defs.observations import measures, partitions, sql, state, weekly
from pipeline_project.defs.observations import files as raw_files
from pipeline_project.defs.observations.config import DatasetConfig

log = logging.getLogger(__name__)


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)


def ingest(config: DatasetConfig, key: str, warehouse: WarehouseResource, storage_root: Path, logger=None,
           week_files: list | None = None) -> weekly.IngestReport:
    if week_files is None:
        week_files = raw_files.files_by_week(config).get(key, [])
    report = weekly.ingest_week(config, key, week_files, logger, storage_root)
    record_files(warehouse, config, key, report)
    state.write_marker(warehouse, config, key, "weekly_observations", report.fingerprint,
                       files=report.files, files_ok=report.files_ok, rows=report.rows,
                       signals=sorted(report.signals), quarantined=report.quarantined,
                       bytes_read=report.bytes_read)
    return report


def record_files(warehouse: WarehouseResource, config: DatasetConfig, key: str, report: weekly.IngestReport) -> None:
    """Each raw file of the week in the item ledger: done, or a dead letter with its quarantined copy."""
    partition = state.ledger_partition(config, key)
    entries = [ledger.Entry(state.DOMAIN, f"{config.name}/{name}", "ingest", ledger.DONE, partition, label=name,
                            attempts_delta=1) for name in report.ingested]
    entries += [ledger.Entry(state.DOMAIN, f"{config.name}/{q['file']}", "ingest", ledger.DEAD_LETTER, partition,
                             error=q["reason"], label=q["file"], quarantine_path=q["path"], attempts_delta=1)
                for q in report.quarantined]
    with connect(warehouse) as conn:
        conn.execute("BEGIN TRANSACTION")
        ledger.ensure_ledger(conn)
        # files that left the week (renamed, deleted) must not linger as its dead letters
        conn.execute(f"DELETE FROM {ledger.TABLE} WHERE domain = ? AND stage = 'ingest' AND partition_key = ?",
                     [state.DOMAIN, partition])
        ledger.upsert(conn, entries)
        conn.execute("COMMIT")


def _done(warehouse: WarehouseResource, config: DatasetConfig, key: str, stage: str, **meta) -> None:
    """Record the stage done for the week, with the inputs it consumed."""
    markers = state.load_markers(warehouse, config)
    inputs = state.manifold_inputs(markers, key) if stage == "manifold" else state.consumed_inputs(markers, key)
    state.write_marker(warehouse, config, key, stage, inputs, **meta)


def _bootstrap_typology(config: DatasetConfig, key: str, signals: dict) -> tuple[pd.DataFrame, str]:
    """Reuse the bootstrap week's rows for known signals; compute only new signals."""
    boot_dir = state.bootstrap_dir(config)
    meta = read_json(boot_dir / "bootstrap.json")
    if not (config.reuse_typology and meta and meta["partition_key"] != key):
        return measures.typology_table(signals, config.compute.typology_max_points), "computed"
    boot = pd.read_parquet(boot_dir / "typology_raw.parquet")
    reused = boot[boot["signal"].isin(list(signals))].drop(columns=["source"], errors="ignore")
    fresh = {k: v for k, v in signals.items() if k not in set(reused["signal"])}
    parts = [reused]
    if fresh:
        parts.append(measures.typology_table(fresh, config.compute.typology_max_points))
    table = pd.concat(parts, ignore_index=True).sort_values("signal", ignore_index=True)
    return table, f"bootstrap:{meta['week']}"


def typology(config: DatasetConfig, key: str, warehouse: WarehouseResource) -> dict:
    signals = weekly.read_signals(state.observations_path(config, key))
    table, source = _bootstrap_typology(config, key, signals)
    table.insert(1, "source", source)
    if not signals:
        table = table.iloc[0:0]
    _write_parquet(table, state.typology_raw_path(config, key))
    boot_dir = state.bootstrap_dir(config)
    boot_meta = read_json(boot_dir / "bootstrap.json")
    if config.reuse_typology and source == "computed" and len(table) and \
            (boot_meta is None or boot_meta["partition_key"] == key):
        _write_parquet(table, boot_dir / "typology_raw.parquet")
        write_json_atomic(boot_dir / "bootstrap.json",
                          {"partition_key": key, "week": partitions.label_for_key(key)})
    _done(warehouse, config, key, "typology", source=source)
    missing = sorted(set(signals) - set(table["signal"]))
    return {"signals": len(table), "source": source, "missing": missing, "table": table}


def classify(config: DatasetConfig, key: str, warehouse: WarehouseResource) -> dict:
    signals = weekly.read_signals(state.observations_path(config, key))
    typology_raw = pd.read_parquet(state.typology_raw_path(config, key))
    table = classification.classify(typology_raw, signals)
    if table.empty:
        table = pd.DataFrame(columns=["signal", *classification.DIMENSIONS, "n_disagreements",
                                      "disagreements"])
    _write_parquet(table, state.typology_path(config, key))
    _done(warehouse, config, key, "classification")
    return {"signals": len(table), "disagreements": int(table["n_disagreements"].sum()) if len(table) else 0,
            "table": table}


def build_manifest(config: DatasetConfig, key: str, warehouse: WarehouseResource) -> dict:
    table = pd.read_parquet(state.typology_path(config, key))
    c = config.compute
    doc = manifest_mod.build_manifest(config.name, key, partitions.label_for_key(key), table,
                                      c.window_samples, c.window_step, c.overlap_samples, c.skip_manifold)
    text = yaml.safe_dump(doc, sort_keys=False)
    write_text_atomic(state.manifest_path(config, key), text)
    _done(warehouse, config, key, "manifest")
    return {"manifest": doc, "yaml": text}


def compute_manifold(config: DatasetConfig, key: str, warehouse: WarehouseResource) -> dict:
    if not state.manifest_path(config, key).exists():
        # a week with no recordings: reached through the next-week overlap (e.g. a backfill of the
        # weeks before it). Nothing to compute; a later file for the week runs it properly.
        _done(warehouse, config, key, "manifold")
        return {"signals": [], "windows": 0, "overlap_rows_used": 0}
    doc = yaml.safe_load(state.manifest_path(config, key).read_text())
    names = manifest_mod.manifold_signals(doc)
    c = config.compute
    current = manifold.wide_frame(state.observations_path(config, key), names)
    previous = manifold.wide_frame(state.observations_path(config, partitions.previous_key(key)), names) \
        if c.overlap_samples else current.iloc[:0]
    frame, first_own = manifold.with_overlap(previous, current, c.overlap_samples)
    geometry, eigen = manifold.compute(frame, first_own, c.window_samples, c.window_step)
    out = state.output_dir(config, key)
    _write_parquet(geometry, out / "state_geometry.parquet")
    _write_parquet(eigen, out / "eigendecomposition.parquet")
    _done(warehouse, config, key, "manifold")
    return {"signals": names, "windows": len(geometry), "overlap_rows_used": first_own}


def sql_analysis(config: DatasetConfig, key: str, warehouse: WarehouseResource) -> dict:
    out = state.output_dir(config, key) / "sql"
    reports = sql.week_reports(state.week_dir(config, key))
    if out.exists():  # a report whose inputs vanished (e.g. skip_manifold now) must not linger
        for stale in out.glob("*.md"):
            if stale.stem not in reports:
                stale.unlink()
    for name, (text, _) in reports.items():
        write_text_atomic(out / f"{name}.md", text)
    views = sql.refresh_views(config.duckdb_path, config.partitions_dir)
    _done(warehouse, config, key, "sql_analysis")
    return {"reports": reports, "views": views}


def reset_week(config: DatasetConfig, key: str) -> bool:
    """Delete a week's outputs (and the bootstrap if it came from this week)."""
    removed = False
    folder = state.week_dir(config, key)
    if folder.exists():
        shutil.rmtree(folder)
        removed = True
    boot = read_json(state.bootstrap_dir(config) / "bootstrap.json")
    if boot and boot.get("partition_key") == key:
        shutil.rmtree(state.bootstrap_dir(config))
    return removed
