"""Raw files: listing, week assignment, fingerprints and quarantine.

A file's identity for change detection is (relative path, mtime_ns, size): cheap to stat,
and any rewrite of a recording changes it. A week's fingerprint is a digest of its files'
identities, so "this week changed" is one string compare (sensor cursor, CLI resume).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.lib.atomic import read_json, write_json_atomic
from pipeline_project.defs.observations import partitions
from pipeline_project.defs.observations.config import DatasetConfig
from pipeline_project.defs.observations.converters import ConversionError, converter_for
from pipeline_project.lib.text import storable


@dataclass(frozen=True, order=True)
class RawFile:
    mtime: float
    relpath: str
    size: int
    mtime_ns: int
    path: Path

    @property
    def identity(self) -> str:
        return f"{self.relpath}\t{self.mtime_ns}\t{self.size}"

    @property
    def name(self) -> str:
        """The relative path as it can be stored and shown (undecodable bytes become U+FFFD)."""
        return storable(self.relpath)


def matches(relpath: str, pattern: str) -> bool:
    """Glob-style match, case-insensitive: archives written on Windows hold `.MAT` files too."""
    rel, pat = relpath.lower(), pattern.lower()
    return fnmatch.fnmatchcase(rel, pat) or (pat.startswith("**/") and fnmatch.fnmatchcase(rel, pat[3:]))


def list_raw_files(config: DatasetConfig) -> list[RawFile]:
    root = config.raw_dir
    if not root.is_dir():
        return []
    out = []
    for path in root.rglob("*"):
        if not path.is_file() or path.name.startswith(".") or not matches(path.relative_to(root).as_posix(),
                                                                           config.file_pattern):
            continue
        st = path.stat()
        out.append(RawFile(st.st_mtime, path.relative_to(root).as_posix(), st.st_size,
                           st.st_mtime_ns, path))
    return sorted(out)


def week_of(config: DatasetConfig, raw: RawFile) -> str:
    """The partition key for a file: its mtime's week, or (week_from: content) its first sample's."""
    if config.partitioning.week_from == "content":
        converter = converter_for(raw.path, config.converter)
        try:
            return partitions.key_for_timestamp(converter.open(raw.path, raw.mtime).start_time())
        except ConversionError:
            pass  # unreadable: fall back to mtime; ingest will quarantine it with the reason
        finally:
            converter.close()
    return partitions.key_for_timestamp(raw.mtime)


def files_by_week(config: DatasetConfig, files: list[RawFile] | None = None) -> dict[str, list[RawFile]]:
    """Partition key -> files (sorted), every week, including any before the first week (see
    early_files: those are refused loudly, never skipped)."""
    weeks: dict[str, list[RawFile]] = defaultdict(list)
    for raw in list_raw_files(config) if files is None else files:
        weeks[week_of(config, raw)].append(raw)
    return dict(sorted(weeks.items()))


def _derived_start_path(config: DatasetConfig) -> Path:
    return config.output_dir / "_state" / "first_week.json"


def first_week(config: DatasetConfig) -> dt.date:
    """The dataset's first weekly partition: partitioning.start when set; otherwise the week of the
    earliest file, found once (a listing, or with week_from: content a read of each file's first
    timestamp) and remembered in <output_dir>/_state/first_week.json, so loading definitions stays
    cheap. Before any file has arrived it is the current week, and nothing is remembered."""
    if config.start_date is not None:
        return config.start_date
    remembered = read_json(_derived_start_path(config))
    if remembered:
        return dt.date.fromisoformat(remembered["first_week"])
    weeks = files_by_week(config)
    if not weeks:
        return partitions.week_start(dt.datetime.now(dt.timezone.utc))
    return remember_first_week(config, min(weeks))


def remember_first_week(config: DatasetConfig, key: str) -> dt.date:
    write_json_atomic(_derived_start_path(config), {"first_week": key, "label": partitions.label_for_key(key),
                                                    "derived_from": "the earliest file"})
    return dt.date.fromisoformat(key)


def early_files(config: DatasetConfig, weeks: dict[str, list[RawFile]]) -> dict[str, list[RawFile]]:
    """Weeks (with their files) that lie before the dataset's first week."""
    start = first_week(config).isoformat()
    return {k: v for k, v in weeks.items() if k < start}


class EarlyFilesError(RuntimeError):
    """Files dated before the first week: processing them needs a different partitioning.start."""


def early_files_message(config: DatasetConfig, early: dict[str, list[RawFile]]) -> str:
    """Names the files no partition holds and the key that fixes it. With no partitioning.start set,
    also moves the remembered first week back to the earliest of them (effective on the next load)."""
    files = [raw for week in sorted(early) for raw in early[week]]
    shown = ", ".join(f"{raw.name} ({partitions.label_for_key(week)})"
                      for week in sorted(early) for raw in early[week])
    if len(files) > 5:
        shown = ", ".join(shown.split(", ")[:5]) + f" and {len(files) - 5} more"
    earliest, where = min(early), f" in {config.source}" if config.source else ""
    head = (f"dataset {config.name}: {len(files)} file(s) are dated before its first week "
            f"{partitions.label_for_key(first_week(config).isoformat())}, so no partition holds them: {shown}.")
    if config.start_date is not None:
        return (f"{head} To process them, set partitioning.start to {earliest} or earlier{where}, "
                f"or move them out of {config.raw_dir}.")
    remember_first_week(config, earliest)
    return (f"{head} The first week is now {partitions.label_for_key(earliest)} (the earliest file's): reload the "
            f"code location, or run `pipeline-project observations run` again, to process them.")


def fingerprint(files: list[RawFile]) -> str:
    digest = hashlib.sha256()
    for raw in sorted(files, key=lambda r: r.relpath):
        digest.update(raw.identity.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()[:32]
