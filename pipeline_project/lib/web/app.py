"""The app factory: shared safety (token, JSON errors, headers) plus every domain's web.py."""

from __future__ import annotations

import logging
from types import ModuleType

from fastapi import Depends, FastAPI, Request

from pipeline_project.lib.web import errors
from pipeline_project.lib.web.security import require_token
from pipeline_project.lib.web.settings import WebSettings

log = logging.getLogger("pipeline_project.web")


def domain_web_modules() -> list[ModuleType]:
    """Every pipeline_project/defs/<domain>/web.py, in the domains' order (lib/domains.py)."""
    from pipeline_project.lib import domains

    found = (domains.module(name, "web") for name in domains.names())
    return [m for m in found if m is not None]


def create_app(settings: WebSettings | None = None, modules: list[ModuleType] | None = None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    app = FastAPI(title="pipeline_project", version="1", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings = settings
    errors.install(app)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.get("/api/v1/health", tags=["server"])
    def health() -> dict:
        return {"status": "ok", "token_required": bool(settings.token)}

    protected = [Depends(require_token)]
    for module in domain_web_modules() if modules is None else modules:
        if hasattr(module, "api_router"):
            app.include_router(module.api_router(), dependencies=protected)
        if hasattr(module, "page_router"):
            app.include_router(module.page_router())
        log.debug("web routes from %s", module.__name__)
    return app
