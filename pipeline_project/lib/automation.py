"""How stages follow each other without a sensor asking: the automation conditions and sensor cadence the
domains share."""

from __future__ import annotations

import dagster as dg

# The sensor daemon looks at sensors every 5 s (Dagster's loop, not a setting). A sensor whose minimum
# interval is also 5 s is skipped every other look, because its last tick started a moment after that
# loop did: ticks came 10 s apart half the time (measured on the intake sensor). Just under the loop
# time, the sensor ticks on every look.
EVERY_DAEMON_LOOP_SECONDS = 4


def follow_parents() -> dg.AutomationCondition:
    """Run when a parent was updated by a run that did not also run this asset, e.g. raw_pdfs
    materialized by hand in the UI: Dagster's `eager()` without its "partition newly missing" trigger.

    New partitions get their whole chain from the sensor that registers them; with `eager()` the
    automation sensor sometimes saw a stage of such a partition as missing and not in progress in the
    moment between its parent's materialization and its own, and launched a second run of it."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("follow_parents")


def once_done(asset_key: str) -> dg.AutomationCondition:
    """True while the same partition of `asset_key` is not being materialized: a follower that waits for
    the rest of another chain (and leaves it the CPU and the run slot) before it starts."""
    in_progress = dg.AutomationCondition.asset_matches(dg.AssetKey(asset_key), dg.AutomationCondition.in_progress())
    return (~in_progress).with_label(f"{asset_key} not in progress")
