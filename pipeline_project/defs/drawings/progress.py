"""A comparison's progress, in the JSON the API, the CLI and the review page share.

    {"job_id", "status", "total_pages",
     "progress": {"ocr"|"diff"|"summary": {"completed", "total"}},
     "pages": [{"page_number", "drawing_name", "ocr_status", "diff_status", "summary_status",
                "diff_result": {"diff_result_id", "overlay_url", "changes_detected", "change_count", ...},
                "summary": {"summary_id", "summary_text", ...}}]}

Statuses are pending | in_progress | completed | failed. "ocr" is a page's extraction and sheet name,
"diff" its overlay, "summary" its words. diff_result and summary appear once that stage is done.
A few fields beyond those help people and pages (name, error, change_type, old/new page numbers and
image URLs, boxes, headline); the ones above keep their names and meaning.
"""

from __future__ import annotations

import json

from pipeline_project.defs.drawings import tables
from pipeline_project.defs.drawings.submissions import DOMAIN
from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect

API = "/api/v1"
_STATUS = {ledger.PENDING: "pending", ledger.IN_PROGRESS: "in_progress", ledger.DONE: "completed",
           ledger.FAILED: "failed", ledger.DEAD_LETTER: "failed"}


def overlay_url(diff_result_id: str) -> str:
    return f"{API}/overlays/{diff_result_id}/image"


def page_image_url(job_id: str, side: str, page: int) -> str:
    return f"{API}/jobs/{job_id}/pages/{side}/{page}/image"


def _combined(*states: str) -> str:
    """One status for a page's extraction + sheet name."""
    shown = [_STATUS.get(s, "pending") for s in states]
    if "failed" in shown:
        return "failed"
    if all(s == "completed" for s in shown):
        return "completed"
    return "in_progress" if "in_progress" in shown else "pending"


def _page(job_id: str, page: dict, states: dict, errors: dict, diff: dict | None, summary: dict | None) -> dict:
    key = f"{job_id}/p{page['page_number']:03d}"
    out = {
        "page_number": page["page_number"],
        "drawing_name": page["drawing_name"],
        "ocr_status": _combined(states.get((key, "pages"), ledger.PENDING), states.get((key, "sheet_names"), ledger.PENDING)),
        "diff_status": _STATUS.get(states.get((key, "diff"), ledger.PENDING), "pending"),
        "summary_status": _STATUS.get(states.get((key, "summary"), ledger.PENDING), "pending"),
        "change_type": page["change_type"],
        "old_page": page["old_page"],
        "new_page": page["new_page"],
        "match_method": page["match_method"],
        "old_image_url": page_image_url(job_id, "old", page["old_page"]) if page["old_page"] else None,
        "new_image_url": page_image_url(job_id, "new", page["new_page"]) if page["new_page"] else None,
    }
    if out["ocr_status"] != "completed" and out["old_image_url"] and states.get((key, "pages")) != ledger.DONE:
        out["old_image_url"] = out["new_image_url"] = None  # not rendered yet
    failed = [errors[(key, s)] for s in ("pages", "diff", "summary") if errors.get((key, s))
              and states.get((key, s)) in (ledger.FAILED, ledger.DEAD_LETTER)]
    if failed:
        out["error"] = failed[0]
    if diff is not None and out["diff_status"] == "completed":
        out["diff_result"] = {"diff_result_id": diff["diff_result_id"], "overlay_url": overlay_url(diff["diff_result_id"]),
                              "changes_detected": bool(diff["changes_detected"]), "change_count": int(diff["change_count"]),
                              "boxes": [r["box"] for r in json.loads(diff["boxes"] or "[]")],
                              "width": diff["width"], "height": diff["height"]}
    if summary is not None and out["summary_status"] == "completed":
        out["summary"] = {"summary_id": summary["summary_id"], "summary_text": summary["summary_text"],
                          "headline": summary["headline"]}
    return out


def job_progress(warehouse, job_id: str) -> dict | None:
    """The progress JSON of a comparison, or None when there is no such comparison."""
    tables.ensure_tables(warehouse)
    with connect(warehouse) as conn:
        comp = tables.comparison(conn, job_id)
        if comp is None:
            return None
        pages = tables.pages(conn, job_id)
        diffs, summaries = tables.diffs(conn, job_id), tables.summaries(conn, job_id)
        rows = ledger.select(conn, domain=DOMAIN, partition_key=job_id)
    states = {(r.item_id, r.stage): r.state for r in rows}
    errors = {(r.item_id, r.stage): r.last_error for r in rows}
    page_list = [_page(job_id, p, states, errors, diffs.get(p["page_number"]), summaries.get(p["page_number"]))
                 for p in pages]
    total = len(page_list)
    count = lambda field: sum(p[field] == "completed" for p in page_list)  # noqa: E731
    result = {
        "job_id": job_id,
        "status": comp["status"],
        "total_pages": total,
        "progress": {"ocr": {"completed": count("ocr_status"), "total": total},
                     "diff": {"completed": count("diff_status"), "total": total},
                     "summary": {"completed": count("summary_status"), "total": total}},
        "pages": page_list,
        "name": comp["name"],
        "old_pages": comp["old_pages"],
        "new_pages": comp["new_pages"],
        "submitted_at": comp["submitted_at"].isoformat() if comp["submitted_at"] else None,
        "started_at": comp["started_at"].isoformat() if comp["started_at"] else None,
        "finished_at": comp["finished_at"].isoformat() if comp["finished_at"] else None,
    }
    if comp["error"]:
        result["error"] = comp["error"]
    return result


def list_jobs(warehouse, limit: int = 100) -> list[dict]:
    tables.ensure_tables(warehouse)
    with connect(warehouse) as conn:
        rows = tables.comparisons(conn)
    return [{"job_id": r["job_id"], "name": r["name"], "status": r["status"], "total_pages": r["total_pages"],
             "error": r["error"], "submitted_at": r["submitted_at"].isoformat() if r["submitted_at"] else None,
             "progress_url": f"{API}/jobs/{r['job_id']}/progress", "review_url": f"/drawings/{r['job_id']}"}
            for r in rows[-limit:][::-1]]
