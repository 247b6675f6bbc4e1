"""Build a week's observations.parquet: files -> signals -> buffer -> flush -> one file.

Long format (timestamp, signal, value, source_file). Memory stays flat however many files a
week holds: converted chunks sit in a buffer that is flushed as Parquet row groups every
`files_per_flush` files (or `max_buffer_rows` rows) through one streaming ParquetWriter, so
"concat" is the writer appending row groups. The file is written to a temp path and renamed,
so a killed run leaves the previous version (or nothing), never half a week.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline_project.lib import quarantine
from pipeline_project.lib.atomic import atomic_path
from pipeline_project.lib.settings import data_dir
from pipeline_project.defs.observations import files as raw_files
from pipeline_project.defs.observations import state
from pipeline_project.defs.observations.config import DatasetConfig
from pipeline_project.defs.observations.converters import ConversionError, Recording, converter_for
from pipeline_project.lib.text import storable

SCHEMA = pa.schema([
    ("timestamp", pa.timestamp("ns", tz="UTC")),
    ("signal", pa.dictionary(pa.int32(), pa.string())),
    ("value", pa.float64()),
    ("source_file", pa.dictionary(pa.int32(), pa.string())),
])

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    partition_key: str
    fingerprint: str
    files: int = 0
    files_ok: int = 0
    rows: int = 0
    bytes_read: int = 0
    flushes: int = 0
    signals: set[str] = field(default_factory=set)
    ingested: list[str] = field(default_factory=list)  # names of the files read whole
    quarantined: list[dict] = field(default_factory=list)  # {"file", "reason", "path"}
    notes: list[str] = field(default_factory=list)


def chunk_table(timestamps_ns: np.ndarray, values: dict[str, np.ndarray], source: str) -> pa.Table:
    """One chunk of a file -> long rows, signal-major. Dictionary columns keep names cheap."""
    names = list(values)
    n, k = len(timestamps_ns), len(names)
    ts = pa.array(np.tile(timestamps_ns, k), type=pa.int64()).cast(SCHEMA.field("timestamp").type)
    signal = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(k, dtype="int32"), n)), pa.array(names, pa.string()))
    value = pa.array(np.concatenate([values[s] for s in names]) if k else np.empty(0), pa.float64())
    source_col = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n * k, dtype="int32")), pa.array([source], pa.string()))
    return pa.Table.from_arrays([ts, signal, value, source_col], schema=SCHEMA)


class _Buffer:
    """Tables waiting to be flushed as row groups of the week's Parquet file."""

    def __init__(self, writer: pq.ParquetWriter, report: IngestReport):
        self.writer, self.report = writer, report
        self.tables: list[pa.Table] = []
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        self.tables.append(table)
        self.rows += table.num_rows

    def flush(self) -> None:
        if not self.tables:
            return
        # unify_dictionaries: every chunk brought its own small dictionary of names
        table = pa.concat_tables(self.tables).unify_dictionaries().combine_chunks()
        self.writer.write_table(table, row_group_size=1_048_576)
        self.report.flushes += 1
        self.tables, self.rows = [], 0


def _open(config: DatasetConfig, raw: raw_files.RawFile) -> tuple[Recording, object]:
    converter = converter_for(raw.path, config.converter)
    try:
        return converter.open(raw.path, raw.mtime), converter
    except BaseException:
        converter.close()
        raise


def _ingest_file(config: DatasetConfig, raw: raw_files.RawFile, buffer: _Buffer) -> int:
    """Stream one file into the buffer; returns rows. Flushes mid-file only for huge files."""
    recording, converter = _open(config, raw)
    pending: list[pa.Table] = []
    flushed_part = False
    rows = 0
    try:
        for chunk in recording.chunks():
            pending.append(chunk_table(chunk.timestamps_ns, chunk.values, raw.name))
            rows += pending[-1].num_rows
            if buffer.rows + sum(t.num_rows for t in pending) >= config.partitioning.max_buffer_rows:
                for table in pending:
                    buffer.add(table)
                pending, flushed_part = [], True
                buffer.flush()
    except ConversionError:
        if flushed_part:  # rows of this file are already in the Parquet file: fail the week
            raise RuntimeError(f"{raw.path}: failed after part of it was written; week aborted")
        raise
    except Exception as exc:
        if flushed_part:
            raise
        raise ConversionError(raw.path, f"read error: {type(exc).__name__}: {exc}") from None
    finally:
        converter.close()
    for table in pending:
        buffer.add(table)
    buffer.report.signals.update(recording.signal_names)
    buffer.report.notes += [storable(f"{raw.name}: {note}") for note in recording.notes]
    return rows


def ingest_week(config: DatasetConfig, partition_key: str, week_files: list[raw_files.RawFile],
                logger: logging.Logger | None = None, storage_root: Path | None = None) -> IngestReport:
    logger = logger or log
    report = IngestReport(partition_key, raw_files.fingerprint(week_files), files=len(week_files))
    target = state.observations_path(config, partition_key)
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
            buffer = _Buffer(writer, report)
            files_in_buffer = 0
            for raw in week_files:
                report.bytes_read += raw.size
                try:
                    report.rows += _ingest_file(config, raw, buffer)
                    report.files_ok += 1
                    report.ingested.append(raw.name)
                except ConversionError as exc:
                    # the raw archive is the user's: copy, never move
                    copy = quarantine.quarantine_file(
                        raw.path, root=storage_root or data_dir(), domain="observations", group=config.name,
                        name=raw.relpath, reason=exc.reason, owner=quarantine.USER,
                        item_id=f"{config.name}/{raw.name}")
                    logger.warning("quarantined %s (%s) -> %s", raw.name, exc.reason, storable(str(copy.path)))
                    report.quarantined.append({"file": raw.name, "reason": storable(exc.reason),
                                               "path": storable(str(copy.path))})
                    continue
                files_in_buffer += 1
                if files_in_buffer >= config.partitioning.files_per_flush or \
                        buffer.rows >= config.partitioning.max_buffer_rows:
                    buffer.flush()
                    files_in_buffer = 0
            buffer.flush()
    return report


def read_signals(path: Path, columns=("signal", "value")) -> dict[str, np.ndarray]:
    """Per-signal value arrays of a week, one row group at a time (one week in memory)."""
    parts: dict[str, list[np.ndarray]] = {}
    pf = pq.ParquetFile(path)
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i, columns=list(columns))
        signal = table.column("signal").combine_chunks()
        if isinstance(signal.type, pa.DictionaryType):
            names = signal.dictionary.to_pylist()
            codes = signal.indices.to_numpy(zero_copy_only=False)
        else:
            names, codes = np.unique(signal.to_numpy(zero_copy_only=False), return_inverse=True)
            names = list(names)
        values = table.column("value").to_numpy()
        for code, name in enumerate(names):
            mask = codes == code
            if mask.any():
                parts.setdefault(name, []).append(values[mask])
    return {name: np.concatenate(chunks) for name, chunks in sorted(parts.items())}
