"""When the OCR dispatcher cuts a batch: latency-first when the inbox is quiet, throughput-first under load.

Pure functions of numbers (no Dagster, no files), so the sensor and the simulation in
benchmarks/dispatch_bench.py take exactly the same decisions.

The rule (docs/ARCHITECTURE.md, "Batching", has the reasoning and the figures)
----------------------------------------------------------------------------
The signal is *busy minutes*: minutes in which at least one file arrived. It measures how sustained the
arrivals are, whatever their volume and whatever the sensor's tick interval.

1. Full batches: as soon as ≥ min_pages wait, they are cut (the remainder rides along).
2. Latency-first, for newcomers after a quiet spell: when a run slot is free and none of the
   `quiet_minutes` (9) whole minutes before the newest waiting file's minute was busy — about ten quiet
   minutes — the files of that minute are cut now. A folder dropped a few minutes after another counts
   as quiet too (at most one busy minute in the 30 before). At most 2 latency-first cuts (rules 2 and 3)
   in 30 minutes, so the start of a stream costs two small batches, not one per tick. A steady
   1 PDF/min is never quiet.
3. Latency-first, for a tail: when a run slot is free and no file arrived in the last `quiet_minutes` + 1
   minutes, whatever still waits is cut (the last files of a stream that stopped).
4. Throughput-first otherwise: a partial batch waits until its oldest file has waited
   min(max_wait, wait_per_busy_minute (5 min) × busy minutes of the last hour). A steady stream of
   ≥ 1 PDF/min has 60 busy minutes an hour (random arrivals at that rate: ~38), so its partial batch may
   wait max_wait (local 150 min), longer than the 100 ± 10 minutes 1,000 pages take to gather at that
   rate: every batch is a full one. A third drop within a few minutes waits ~10 minutes (rule 3).
5. Partition budget: once used partitions pass `warn_fraction` (50 %) of the budget, min_pages, the waits
   and the quiet spell are multiplied by s = (1 - warn) / (1 - used/budget) (at most 20): the partitions
   left × pages per partition stays constant, so batches grow as the budget fills instead of the
   instance failing, and nothing is stranded (every wait stays finite).

The SLURM/GPU engine has no latency-first steps (each GPU job pays a fixed start-up) and its partial
batches wait max_wait (240 min) whatever the arrivals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

MINUTE = 60.0
HOUR = 3600.0
MAX_SCALE = 20.0
# Interactive use: a folder dropped a few minutes after another (one busy minute in the last half hour)
# is still served latency-first; a stream of ≥ 1 PDF/min has ~30 busy minutes in any half hour.
LOOKBACK_MINUTES, LOOKBACK_BUSY = 30, 1
LATENCY_CUTS_PER_LOOKBACK = 2


@dataclass(frozen=True)
class DispatchSettings:
    min_pages: int = 1000
    max_wait_seconds: float = 150 * MINUTE  # throughput-first: the longest a partial batch waits
    wait_per_busy_minute: float = 5 * MINUTE  # throughput-first: wait grows with the busy minutes of the hour
    latency_first: bool = True  # the local engine; SLURM/GPU: False
    quiet_minutes: int = 9  # whole minutes without an arrival: a spell of 9-11 minutes
    budget: int = 30_000  # dynamic partitions this instance should hold (see partition_budget_default)
    warn_fraction: float = 0.5


@dataclass(frozen=True)
class DispatchHistory:
    """What the dispatcher remembers between ticks (kept in the sensor's cursor): the minutes (unix
    time // 60) in which files arrived, and when it last cut newcomers latency-first."""

    busy_minutes: tuple[int, ...] = field(default_factory=tuple)
    latency_cuts: tuple[float, ...] = field(default_factory=tuple)

    def with_latency_cut(self, now: float) -> "DispatchHistory":
        recent = tuple(t for t in self.latency_cuts if t > now - LOOKBACK_MINUTES * MINUTE)
        return replace(self, latency_cuts=recent + (now,))

    def with_arrivals(self, arrival_times: list[float], now: float, keep: float = HOUR) -> "DispatchHistory":
        """Add these arrivals; forget minutes older than `keep` seconds."""
        horizon = int((now - keep) // MINUTE)
        minutes = {m for m in self.busy_minutes if m > horizon} | {int(t // MINUTE) for t in arrival_times
                                                                   if int(t // MINUTE) > horizon}
        return replace(self, busy_minutes=tuple(sorted(minutes)))

    def busy_between(self, start: float, end: float) -> int:
        """Busy minutes m with start ≤ m·60 < end."""
        return sum(1 for m in self.busy_minutes if start <= m * MINUTE < end)


@dataclass(frozen=True)
class Decision:
    min_pages: int  # cut full batches of at least this many pages
    wait_seconds: float  # a partial batch goes once its oldest file has waited this long
    cut_all_now: bool  # latency-first for a tail: cut whatever waits, now
    cut_newer_than: float | None  # latency-first for newcomers: cut the files first seen at or after this time
    mode: str  # "latency-first" | "throughput-first"
    budget_scale: float


def budget_scale(used: int, budget: int, warn_fraction: float) -> float:
    """1 below the warning level; then grows so that partitions left × batch size stays constant."""
    if budget <= 0:
        return 1.0
    fill = used / budget
    if fill <= warn_fraction:
        return 1.0
    if fill >= 1.0:
        return MAX_SCALE
    return min(MAX_SCALE, (1.0 - warn_fraction) / (1.0 - fill))


def history_seconds(settings: DispatchSettings) -> float:
    """How far back decide() looks: the last hour, or the quiet spell at its widest."""
    return max(HOUR, (settings.quiet_minutes + 1) * MINUTE * MAX_SCALE, (LOOKBACK_MINUTES + 1) * MINUTE)


def decide(settings: DispatchSettings, history: DispatchHistory, *, now: float, newest_arrival: float | None,
           slot_free: bool, partitions_used: int) -> Decision:
    """The thresholds for this tick. `history` already holds the arrivals seen this tick."""
    scale = budget_scale(partitions_used, settings.budget, settings.warn_fraction)
    min_pages = max(1, round(settings.min_pages * scale))
    if settings.latency_first:
        busy_hour = history.busy_between(now - HOUR, now + 1)
        wait = min(settings.max_wait_seconds, settings.wait_per_busy_minute * busy_hour) * scale
    else:
        wait = settings.max_wait_seconds * scale
    cut_all = False
    newer_than = None
    recent_cuts = sum(1 for t in history.latency_cuts if t > now - LOOKBACK_MINUTES * MINUTE)
    if settings.latency_first and slot_free and newest_arrival is not None:
        spell = settings.quiet_minutes * MINUTE * scale
        newest_minute = (newest_arrival // MINUTE) * MINUTE
        if recent_cuts >= LATENCY_CUTS_PER_LOOKBACK:
            pass
        elif history.busy_between(newest_minute - spell, newest_minute) == 0:
            newer_than = newest_minute
        elif history.busy_between(newest_minute - LOOKBACK_MINUTES * MINUTE, newest_minute) <= LOOKBACK_BUSY:
            newer_than = newest_minute - LOOKBACK_MINUTES * MINUTE
        this_minute = (now // MINUTE) * MINUTE
        cut_all = history.busy_between(this_minute - spell, now + 1) == 0
    quiet = cut_all or newer_than is not None
    return Decision(min_pages=min_pages, wait_seconds=wait, cut_all_now=cut_all, cut_newer_than=newer_than,
                    mode="latency-first" if quiet else "throughput-first", budget_scale=scale)


def for_engine(engine: str, **overrides) -> DispatchSettings:
    """Per-engine defaults: local favours latency; SLURM/GPU waits long for full batches."""
    base = DispatchSettings()
    if engine == "slurm":
        base = replace(base, latency_first=False, max_wait_seconds=240 * MINUTE)
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def partition_budget_default(storage_kind: str) -> int:
    """Dagster recommends at most ~100,000 dynamic partitions per asset; on SQLite instance storage the
    partition query fails near 36,000 here ("too many SQL variables"), so keep a sixth below that."""
    return 30_000 if storage_kind == "sqlite" else 100_000
