"""`pipeline-project status`: every domain's items from the item ledger, each domain's own counts,
and every quarantined input, dead letter and failure with its reason, shown the same way."""

from __future__ import annotations

import traceback
from collections import defaultdict

from pipeline_project.lib import domains, ledger
from pipeline_project.lib.resources import Shared, shared
from pipeline_project.lib.warehouse import connect

SHOWN = 30  # per list in the human output; --json has everything


def _problem(row: ledger.Row) -> dict:
    return {"domain": row.domain, "stage": row.stage, "partition": row.partition_key, "item": row.item_id,
            "label": row.label or row.item_id, "state": row.state, "attempts": row.attempts,
            "reason": row.last_error, "quarantine_path": row.quarantine_path}


def collect(common: Shared | None = None) -> dict:
    common = common or shared()
    with connect(common.warehouse) as conn:
        counts = ledger.counts(conn)
        problems = ledger.select(conn, states=[ledger.FAILED, ledger.DEAD_LETTER])
    out: dict = {"data_dir": str(common.storage.root_path), "ledger": counts, "domains": {},
                 "quarantined": [], "dead_letters": [], "failed": []}
    for row in problems:
        bucket = ("failed" if row.state == ledger.FAILED else
                  "quarantined" if row.quarantine_path else "dead_letters")
        out[bucket].append(_problem(row))
    for name in domains.names():
        cli = domains.module(name, "cli")
        if cli is None or not hasattr(cli, "status"):
            continue
        try:
            out["domains"][name] = cli.status(common)
        except Exception as exc:  # one domain's trouble must not hide the others
            out["domains"][name] = {"error": f"{type(exc).__name__}: {exc}",
                                    "lines": [f"(could not read: {type(exc).__name__}: {exc})"],
                                    "traceback": traceback.format_exc(limit=3)}
    return out


def _ledger_lines(counts: dict) -> list[str]:
    lines = []
    for domain, stages in counts.items():
        parts = []
        for stage, states in stages.items():
            text = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(states.items()))
            parts.append(f"{stage}: {text}")
        lines.append(f"  {domain:<13} " + " | ".join(parts))
    return lines or ["  (nothing recorded yet)"]


def _listing(title: str, items: list[dict], show_path: bool) -> list[str]:
    if not items:
        return []
    lines = ["", title]
    by_domain: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        by_domain[item["domain"]].append(item)
    for domain, group in by_domain.items():
        for item in group[:SHOWN]:
            tries = f", {item['attempts']} attempts" if item["attempts"] > 1 else ""
            lines.append(f"  [{domain} {item['stage']}] {item['label']}: {item['reason']}{tries}")
            if show_path and item["quarantine_path"]:
                lines.append(f"      → {item['quarantine_path']}")
        if len(group) > SHOWN:
            lines.append(f"  [{domain}] … and {len(group) - SHOWN} more (pipeline-project status --json)")
    return lines


def render(summary: dict) -> str:
    lines = [f"data dir     : {summary['data_dir']}", "item ledger  : items per domain and stage"]
    lines += _ledger_lines(summary["ledger"])
    for name, part in summary["domains"].items():
        if part.get("lines"):
            lines += ["", f"{name}:"] + [f"  {line}" for line in part["lines"]]
    lines += _listing("quarantined inputs (kept in the quarantine folder with a .reason.txt, never deleted):",
                      summary["quarantined"], show_path=True)
    lines += _listing("dead letters (gave up; `pipeline-project retry --dead-letters` tries again):",
                      summary["dead_letters"], show_path=False)
    lines += _listing("failed, will be retried:", summary["failed"], show_path=False)
    return "\n".join(lines)


def print_status(common: Shared | None = None) -> dict:
    summary = collect(common)
    print(render(summary), flush=True)
    return summary
