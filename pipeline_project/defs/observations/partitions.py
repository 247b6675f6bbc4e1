"""Weekly partitions: one Monday-start WeeklyPartitionsDefinition per dataset.

Partition keys are the week's Monday (`2023-01-02`: sortable, readable, what Dagster's
--partition-range expects); folders use the ISO week label (`2023-W01`). Both map 1:1.
end_offset=1 makes the current, still-filling week a partition too, so files arriving today
are processed today; a later file for that week re-materializes it (see sensors.py).
"""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg

from pipeline_project.defs.observations.config import DatasetConfig

_LABEL_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def weekly_partitions(config: DatasetConfig) -> dg.WeeklyPartitionsDefinition:
    from pipeline_project.defs.observations.files import first_week

    return dg.WeeklyPartitionsDefinition(
        start_date=first_week(config).isoformat(), day_offset=1, end_offset=1, timezone="UTC"
    )


def week_start(moment: dt.datetime | dt.date) -> dt.date:
    """The Monday (UTC) of the week holding `moment`."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc)
        moment = moment.date()
    return moment - dt.timedelta(days=moment.weekday())


def key_for_timestamp(seconds: float) -> str:
    return week_start(dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)).isoformat()


def label_for_key(partition_key: str) -> str:
    """`2023-01-02` -> `2023-W01` (ISO year and week of that Monday)."""
    year, week, _ = dt.date.fromisoformat(partition_key).isocalendar()
    return f"{year}-W{week:02d}"


def key_for_label(label: str) -> str:
    match = _LABEL_RE.match(label)
    if not match:
        raise ValueError(f"not an ISO week label (YYYY-Www): {label!r}")
    return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1).isoformat()


def normalize_week(text: str) -> str:
    """Accept `2023-W01` or any date inside the week; return the partition key."""
    text = text.strip()
    if _LABEL_RE.match(text):
        return key_for_label(text)
    return week_start(dt.date.fromisoformat(text)).isoformat()


def previous_key(partition_key: str) -> str:
    return (dt.date.fromisoformat(partition_key) - dt.timedelta(days=7)).isoformat()


def next_key(partition_key: str) -> str:
    return (dt.date.fromisoformat(partition_key) + dt.timedelta(days=7)).isoformat()


def week_bounds_seconds(partition_key: str) -> tuple[float, float]:
    start = dt.datetime.combine(dt.date.fromisoformat(partition_key), dt.time(), dt.timezone.utc)
    return start.timestamp(), (start + dt.timedelta(days=7)).timestamp()
