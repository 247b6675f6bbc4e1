"""The drawings routes on the project's web server (pipeline_project/lib/web).

API (behind the access token when one is set):
    POST /api/v1/jobs                              multipart: old, new (PDFs); ?name= optional
                                                   (?order=stage_by_stage: for the benchmark only)
    GET  /api/v1/jobs                              recent comparisons
    GET  /api/v1/jobs/{job_id}/progress            the progress JSON (progress.py)
    GET  /api/v1/overlays/{diff_result_id}/image   the overlay PNG
    GET  /api/v1/jobs/{job_id}/pages/{old|new}/{n}/image   a rendered page
Pages:
    GET  /drawings                                 recent comparisons and an upload form
    GET  /drawings/{job_id}                        the review page (updates while the job runs)

fastapi is imported inside the functions: this module is loaded with the code location.
"""


import re
from pathlib import Path

JOB_ID = re.compile(r"^[0-9a-f]{16}$")
DIFF_ID = re.compile(r"^diff-[0-9a-f]{16}-\d{3}$")
PDF_MAGIC = b"%PDF-"


def _shared():
    from pipeline_project.lib.resources import shared

    return shared()


def _check_job_id(job_id: str) -> str:
    from pipeline_project.lib.web import ApiError

    if not JOB_ID.match(job_id):
        raise ApiError(404, f"no drawing comparison {job_id!r} (ids are 16 hexadecimal characters)")
    return job_id


def _png(path: str | Path, root: Path, what: str):
    from fastapi.responses import FileResponse

    from pipeline_project.lib.web import ApiError

    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        raise ApiError(404, f"{what} is not available (yet)")
    return FileResponse(resolved, media_type="image/png", headers={"Cache-Control": "no-cache"})


def _reject_upload(upload, reason: str) -> None:
    from pipeline_project.lib.quarantine import PIPELINE, quarantine_file

    common = _shared()
    quarantine_file(upload.path, root=common.storage.root_path, domain="drawings", group="rejected_uploads",
                    name=f"{upload.path.stem}-{upload.client_name}", reason=reason, owner=PIPELINE,
                    item_id=upload.client_name)


async def create_job(request):
    """Accept an old/new pair, register the comparison and its partition, and start its run through
    the Dagster UI when one is known (else the sensor requests it at its next tick)."""
    from starlette.concurrency import run_in_threadpool

    from pipeline_project.lib.web import ApiError, receive_files

    files = await receive_files(request, {"old", "new"}, required={"old", "new"})
    for side in ("old", "new"):
        upload = files[side]
        if PDF_MAGIC not in upload.head:
            reason = f"the '{side}' file ({upload.client_name}) is not a PDF (checked by content, not by name)"
            for u in files.values():
                if u is upload:
                    await run_in_threadpool(_reject_upload, u, reason)
                else:
                    u.path.unlink(missing_ok=True)
            raise ApiError(415, reason + "; only PDF drawing sets can be compared")
    name = (request.query_params.get("name") or "").strip() or None
    order = request.query_params.get("order") or None
    if order not in (None, "streaming", "stage_by_stage"):
        for u in files.values():
            u.path.unlink(missing_ok=True)
        raise ApiError(400, "order is 'streaming' (the default) or 'stage_by_stage'")
    return await run_in_threadpool(_submit_uploads, files, name, order)


def _submit_uploads(files, name, order=None):
    import logging

    from fastapi.responses import JSONResponse

    from pipeline_project.defs.drawings.launch import launch_now, ui_configured
    from pipeline_project.defs.drawings.submissions import register_partition, submit
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.quarantine import PIPELINE

    common = _shared()
    launching = ui_configured()
    sub = submit(common.storage.root_path, common.warehouse, files["old"].path, files["new"].path, name=name,
                 source="api", owner=PIPELINE, labels=(files["old"].client_name, files["new"].client_name),
                 page_order=order, launching=launching)
    register_partition(get_instance(), sub.job_id)
    run_id = None
    if sub.created and launching:  # start the run now rather than at the sensor's next tick
        run_id = launch_now(common.warehouse, sub.job_id, launched_by="api",
                            log=logging.getLogger("pipeline_project.web").warning)
    body = {"job_id": sub.job_id, "status": sub.status, "created": sub.created, "name": sub.name,
            "run_id": run_id, "progress_url": f"/api/v1/jobs/{sub.job_id}/progress",
            "review_url": f"/drawings/{sub.job_id}"}
    return JSONResponse(body, status_code=201 if sub.created else 200)


def api_router():
    from fastapi import APIRouter, Request

    from pipeline_project.defs.drawings import progress, tables
    from pipeline_project.defs.drawings.walker import page_png
    from pipeline_project.lib.warehouse import connect
    from pipeline_project.lib.web import ApiError

    router = APIRouter(tags=["drawings"])

    @router.post("/api/v1/jobs", status_code=201, summary="Compare two revisions of a drawing set")
    async def post_job(request: Request):
        return await create_job(request)

    @router.get("/api/v1/jobs", summary="Recent comparisons")
    def get_jobs():
        return {"jobs": progress.list_jobs(_shared().warehouse)}

    @router.get("/api/v1/jobs/{job_id}/progress", summary="Per-page, per-stage progress of a comparison")
    def get_progress(job_id: str):
        found = progress.job_progress(_shared().warehouse, _check_job_id(job_id))
        if found is None:
            raise ApiError(404, f"no drawing comparison {job_id!r}")
        return found

    @router.get("/api/v1/overlays/{diff_result_id}/image", summary="The overlay PNG of one page")
    def get_overlay(diff_result_id: str):
        if not DIFF_ID.match(diff_result_id):
            raise ApiError(404, f"no overlay {diff_result_id!r}")
        common = _shared()
        tables.ensure_tables(common.warehouse)
        with connect(common.warehouse) as conn:
            row = tables.diff_by_id(conn, diff_result_id)
        if row is None:
            raise ApiError(404, f"no overlay {diff_result_id!r} (yet)")
        return _png(row["overlay_path"], common.storage.root_path, f"overlay {diff_result_id}")

    @router.get("/api/v1/jobs/{job_id}/pages/{side}/{page}/image", summary="A rendered page of either revision")
    def get_page(job_id: str, side: str, page: int):
        if side not in ("old", "new") or page < 1:
            raise ApiError(404, "pages are /old/<n> or /new/<n>, n from 1")
        root = _shared().storage.root_path
        return _png(page_png(root, _check_job_id(job_id), side, page), root, f"{side} page {page}")

    return router


def page_router():
    from fastapi import APIRouter
    from fastapi.responses import HTMLResponse

    from pipeline_project.defs.drawings.review_page import index_html, review_html

    router = APIRouter(tags=["drawings pages"])

    @router.get("/drawings", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return HTMLResponse(index_html())

    @router.get("/drawings/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def review(job_id: str):
        return HTMLResponse(review_html(_check_job_id(job_id)))

    return router
