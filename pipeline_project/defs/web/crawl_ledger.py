"""A crawl run's outcomes in the item ledger (domain `web`, stage `crawl`, one row per URL, the crawl's
name as partition): saved pages, duplicates and PDFs are done; skips are done with their reason in
the detail; errors are failed (a later crawl may succeed: 5xx, time-outs, refused connections) or
dead letters (no retry helps: 4xx, redirect loops, pages over the size cap, unreadable pages)."""

from __future__ import annotations

from pipeline_project.defs.web.crawl_log import DUPLICATE, ERROR, PDF, SAVED, SKIPPED, RunView
from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect

DOMAIN, STAGE = "web", "crawl"
_TRANSIENT = ("HTTP 5", "timed out", "connection refused", "host not found", "ConnectionLost", "ResponseNeverReceived")


def _entry(crawl: str, event: dict) -> ledger.Entry:
    outcome, url = event["event"], event["url"]
    detail = {k: v for k, v in event.items() if k not in ("url", "t")}
    detail["run_id"] = detail.get("run_id")
    if outcome in (SAVED, DUPLICATE, PDF, SKIPPED):
        return ledger.Entry(DOMAIN, url, STAGE, ledger.DONE, crawl, label=url, detail=detail, attempts_delta=1)
    reason = event.get("reason") or "error"
    transient = any(marker in reason for marker in _TRANSIENT)
    return ledger.Entry(DOMAIN, url, STAGE, ledger.FAILED if transient else ledger.DEAD_LETTER, crawl,
                        error=reason, label=url, detail=detail, attempts_delta=1)


def record_crawl(warehouse, run: RunView) -> dict:
    """Write the run's outcomes (the last outcome per URL wins). Returns counts per outcome."""
    crawl = run.state.get("crawl", "")
    entries = [_entry(crawl, e) for e in run.events]
    with connect(warehouse) as conn:
        ledger.ensure_ledger(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            ledger.upsert(conn, entries)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    counts = {k: 0 for k in (SAVED, DUPLICATE, PDF, SKIPPED, ERROR)}
    for e in run.events:
        counts[e["event"]] = counts.get(e["event"], 0) + 1
    return counts
