"""The documents routes on the project's web server (pipeline_project/lib/web): search.

API (behind the access token when one is set):
    GET /api/v1/documents/search?q=...&k=5&mode=hybrid|vector|lexical   hits as JSON (the CLI's --json shape)
Page:
    GET /documents/search                                                a search box and its results

The server loads the embedding model once, on its first search (or at start-up, in a background
thread), so a warm search costs only the query's embedding and two SQL queries. fastapi is imported
inside the functions: this module is loaded with the code location.
"""

from __future__ import annotations

import threading

MAX_K = 50


def _search(q: str, k: int, mode: str) -> dict:
    from pipeline_project.defs.documents.search.service import search_shared

    return search_shared(q, k=k, mode=mode)


def warm_up() -> None:
    """Load the model in the background so the first search does not wait for it."""
    from pipeline_project.defs.documents.search.service import warm

    threading.Thread(target=warm, name="search-warm-up", daemon=True).start()


def api_router():
    from fastapi import APIRouter, Query

    from pipeline_project.defs.documents.search.engine import MODES
    from pipeline_project.lib.web import ApiError

    router = APIRouter(tags=["documents"])
    warm_up()

    @router.get("/api/v1/documents/search", summary="Search the documents' chunks (hybrid, vector or lexical)")
    def search(q: str = Query(..., description="what to look for"), k: int = 5, mode: str = "hybrid"):
        if mode not in MODES:
            raise ApiError(400, f"mode {mode!r}: choose one of {', '.join(MODES)}")
        if not 1 <= k <= MAX_K:
            raise ApiError(400, f"k must be between 1 and {MAX_K}")
        return _search(q, k, mode)

    return router


def page_router():
    from fastapi import APIRouter
    from fastapi.responses import HTMLResponse

    from pipeline_project.defs.documents.search.page import search_html

    router = APIRouter(tags=["documents pages"])

    @router.get("/documents/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page():
        return HTMLResponse(search_html())

    return router
