"""Raw files: listing, week assignment, fingerprints and quarantine.

A file's identity for change detection is (relative path, mtime_ns, size): cheap to stat,
and any rewrite of a recording changes it. A week's fingerprint is a digest of its files'
identities, so "this week changed" is one string compare (sensor cursor, CLI resume).
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.lib.atomic import write_text_atomic
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
    """Partition key -> files (sorted), for weeks on or after the configured start."""
    start = config.start_date.isoformat()
    weeks: dict[str, list[RawFile]] = defaultdict(list)
    for raw in list_raw_files(config) if files is None else files:
        key = week_of(config, raw)
        if key >= start:
            weeks[key].append(raw)
    return dict(sorted(weeks.items()))


def fingerprint(files: list[RawFile]) -> str:
    digest = hashlib.sha256()
    for raw in sorted(files, key=lambda r: r.relpath):
        digest.update(raw.identity.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()[:32]


def quarantine(config: DatasetConfig, raw: RawFile, reason: str, root: Path | None = None) -> Path:
    """Copy (never move: the raw archive is the user's) the file aside with a .reason.txt."""
    target = config.quarantine_dir(root) / raw.relpath.replace("/", "__")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(raw.path, target)
    write_text_atomic(target.with_name(target.name + ".reason.txt"),
                      storable(f"file: {raw.path}\ndataset: {config.name}\nreason: {reason}\n"))
    return target
