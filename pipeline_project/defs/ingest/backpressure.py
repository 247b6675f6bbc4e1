"""Disk backpressure: stop pulling new files when the disk holding the data dir is nearly full.

Downloads are the only stage that *adds* bytes faster than the rest of the pipeline removes them, so
they are the one to throttle: the slice sensor skips (with a reason shown in the UI) and running
downloads stop between files. Cleanup after verified ingest frees space; the next tick resumes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.lib.settings import data_dir, env_float

DEFAULT_HIGH_WATERMARK = 0.90


def high_watermark() -> float:
    """$PIPELINE_DISK_HIGH_WATERMARK as a fraction of the filesystem (0.90 = 90 % full)."""
    value = env_float("PIPELINE_DISK_HIGH_WATERMARK", DEFAULT_HIGH_WATERMARK)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"PIPELINE_DISK_HIGH_WATERMARK must be in (0, 1], not {value}")
    return value


@dataclass(frozen=True)
class DiskState:
    path: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    high_watermark: float

    @property
    def used_fraction(self) -> float:
        return self.used_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def over_watermark(self) -> bool:
        return self.used_fraction >= self.high_watermark

    def reason(self) -> str:
        """A sentence a person can read in the UI (SkipReason / metadata / status)."""
        verdict = "downloads paused" if self.over_watermark else "downloads allowed"
        return (
            f"{verdict}: disk holding {self.path} is {self.used_fraction:.1%} full "
            f"({_gib(self.used_bytes)} of {_gib(self.total_bytes)}, {_gib(self.free_bytes)} free); "
            f"high watermark {self.high_watermark:.0%} (PIPELINE_DISK_HIGH_WATERMARK)"
        )


def _existing_ancestor(path: Path) -> Path:
    # The data dir may not exist yet on a fresh checkout; measure the filesystem it will live on.
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_state(path: Path | None = None, watermark: float | None = None) -> DiskState:
    target = Path(path) if path is not None else data_dir()
    usage = shutil.disk_usage(_existing_ancestor(target))
    # used = total - free (not usage.used): root-reserved blocks count as unavailable to us.
    return DiskState(
        path=str(target),
        total_bytes=usage.total,
        used_bytes=usage.total - usage.free,
        free_bytes=usage.free,
        high_watermark=high_watermark() if watermark is None else watermark,
    )


def _gib(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    return f"{n / (1 << 20):.1f} MiB"
