"""Where things live, read from the environment so scale-out is configuration, not code."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The storage root: $PIPELINE_DATA_DIR, default ./data (relative to the working directory)."""
    return Path(os.environ.get("PIPELINE_DATA_DIR", "data")).resolve()


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def env_str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return raw if raw not in (None, "") else default


class UserError(Exception):
    """A problem the person at the terminal can fix (bad config, missing file): printed without a traceback."""
