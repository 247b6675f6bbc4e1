"""Make a run that waits for a pool slot sleep instead of spinning a core.

Dagster 1.13.27's executors ask `InstanceConcurrencyContext.interval_to_next_pending_claim_check()`
how long to sleep before asking for a pool slot again, and it answers `min(0, ...)`: never more than
zero, so the run's loop never sleeps. A documents run waiting for the `embedding_model` slot then
burns a whole core, on a 2-core machine half of what the embedding it waits for could use (measured:
5.96 CPU-s in 6 s of waiting; the batch being embedded meanwhile ran at ~57 instead of ~110 chunks/s).
Upstream noticed it (dagster-io/dagster#20367, closed without merging). This clamps the answer the
other way, to the time until the next claim check is due (Dagster's own back-off, 1 s growing to
15 s); a slot freed meanwhile is taken at that check.

Applied by the code location when it loads (run workers, the code server) and by the CLI, once per
process. Remove it once the pinned Dagster's own method returns a positive wait.
"""

from __future__ import annotations

import time

_PATCHED = "_pipeline_project_sleeps"


def _interval_to_next_pending_claim_check(self) -> float:
    if not self._pending_claims:
        return 0.0
    now = time.time()
    return max(0.0, min(ready_at - now for ready_at in self._pending_timeouts.values()))


def patch_pool_wait() -> None:
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    if getattr(InstanceConcurrencyContext, _PATCHED, False):
        return
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _interval_to_next_pending_claim_check
    setattr(InstanceConcurrencyContext, _PATCHED, True)
