"""The app factory: shared safety (token, JSON errors, headers) plus every domain's web.py."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from types import ModuleType

from fastapi import Depends, FastAPI, Request

from pipeline_project.lib.web import errors
from pipeline_project.lib.web.security import require_token
from pipeline_project.lib.web.settings import WebSettings

log = logging.getLogger("pipeline_project.web")
DOMAINS_PACKAGE = "pipeline_project.defs"


def domain_web_modules() -> list[ModuleType]:
    """Every pipeline_project/defs/<domain>/web.py, in domain-name order."""
    package = importlib.import_module(DOMAINS_PACKAGE)
    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        name = f"{DOMAINS_PACKAGE}.{info.name}.web"
        if importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules


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
