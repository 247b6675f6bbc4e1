"""Which downloads are done, failed or to retry: the downloader's view of the item ledger.

It outlives the PDFs (cleanup deletes those after ingest), which is exactly why it exists: nothing is
ever downloaded twice. One ledger row per list item (domain "ingest", stage "download", partition =
its slice); the downloader speaks in its own three words, mapped here:

    done  → done          permanent failure (e.g. HTTP 404) → dead_letter (not retried unless asked)
    retry → failed        retries exhausted in a run; the next run tries again, up to a limit
"""

from __future__ import annotations

from dagster_duckdb import DuckDBResource

from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect

DONE = "done"
FAILED = "failed"  # permanent: not retried unless `pipeline-project retry --dead-letters`
RETRY = "retry"
_FROM_LEDGER = {ledger.DONE: DONE, ledger.DEAD_LETTER: FAILED, ledger.FAILED: RETRY}


class DownloadLedger:
    def __init__(self, warehouse: DuckDBResource, domain: str = "ingest", stage: str = "download"):
        self.warehouse, self.domain, self.stage = warehouse, domain, stage

    def statuses(self, item_ids: list[str]) -> dict[str, str]:
        """done / failed / retry per item that has one (pending and re-queued items have none)."""
        with connect(self.warehouse) as conn:
            rows = ledger.select(conn, domain=self.domain, stage=self.stage, item_ids=item_ids)
        return {r.item_id: _FROM_LEDGER[r.state] for r in rows if r.state in _FROM_LEDGER}

    def record(self, item_id: str, status: str, *, slice_key: str = "", url: str = "",
               file_name: str = "", size: int = 0, reason: str = "") -> None:
        state = {DONE: ledger.DONE, FAILED: ledger.DEAD_LETTER}[status]
        entry = ledger.Entry(self.domain, item_id, self.stage, state, slice_key or None,
                             error=reason or None, label=url or None, attempts_delta=1,
                             detail={"url": url, "file_name": file_name, "bytes": size})
        with connect(self.warehouse) as conn:
            ledger.upsert(conn, [entry])

    def record_transient(self, item_id: str, *, slice_key: str, url: str, reason: str,
                         give_up_after: int) -> bool:
        """Count a run whose retries were exhausted; after `give_up_after` such runs the item is a
        dead letter, so an unreachable file does not make the sensor re-request its slice forever.
        Returns True when it gave up."""
        entry = ledger.Entry(self.domain, item_id, self.stage, ledger.FAILED, slice_key or None,
                             error=f"{reason}", label=url or None, attempts_delta=1, detail={"url": url})
        with connect(self.warehouse) as conn:
            ledger.upsert(conn, [entry], max_attempts=give_up_after)
            (row,) = ledger.select(conn, domain=self.domain, stage=self.stage, item_ids=[item_id])
        return row.state == ledger.DEAD_LETTER

    def counts(self) -> dict[str, int]:
        with connect(self.warehouse) as conn:
            ledger.ensure_ledger(conn)
            rows = conn.execute(
                f"""SELECT state, count(*), coalesce(sum(CAST(json_extract(detail, '$.bytes') AS BIGINT)), 0)
                    FROM {ledger.TABLE} WHERE domain = ? AND stage = ? GROUP BY state""",
                [self.domain, self.stage]).fetchall()
        out = {DONE: 0, FAILED: 0, RETRY: 0, "bytes_done": 0}
        for state, n, total in rows:
            if state in _FROM_LEDGER:
                out[_FROM_LEDGER[state]] = n
            if state == ledger.DONE:
                out["bytes_done"] = int(total)
        return out
