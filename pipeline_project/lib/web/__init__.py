"""The project's one web server (FastAPI on uvicorn), shared by every domain.

Start it with `serve(host, port, token)` (what `pipeline-project serve` runs), or `spawn(...)` to run
it in a child process next to the Dagster UI (what `pipeline-project dev` does), or
`python -m pipeline_project.lib.web --host 127.0.0.1 --port 8765`.

How a domain adds routes and pages
----------------------------------
Put a `web.py` in the domain's folder, pipeline_project/defs/<domain>/web.py, defining either or both:

    def api_router() -> fastapi.APIRouter      # JSON and files: behind the access token, if one is set
    def page_router() -> fastapi.APIRouter     # HTML pages: public shells that load their data from
                                               # the API with the token (they ask for it once)

`create_app()` finds every defs/<domain>/web.py (lib/domains.py) and includes what it defines.
Import fastapi inside those functions, never at the top of web.py: every .py under defs/ is imported
when the code location loads, and Dagster must not pay for the web stack. Use paths under
/api/v1/... for the API and /<domain>/... for pages. Helpers for route code: `ApiError` (an error
with a status and a readable message), `receive_files` (multipart uploads streamed to disk), and
`app.state.settings` (WebSettings: upload folder and limits).

Safety (security.py, errors.py, uploads.py)
--------------------------------------------
- Binds 127.0.0.1 by default; any other address needs an access token (PIPELINE_API_TOKEN, or
  `token=`) or the server refuses to start.
- With a token set, API routes need `Authorization: Bearer <token>`; pages stay readable and ask
  for the token in the browser. GET /api/v1/health is always open.
- Every error is a JSON body {"error": "<readable message>", "status": <code>}; never a stack trace
  (those go to the server log).
- Uploads are streamed to disk under a random name in the upload folder, capped in size
  (PIPELINE_API_MAX_UPLOAD_MB, default 512 per request); the client's file name is never used as a path.
"""

from pipeline_project.lib.web.app import create_app
from pipeline_project.lib.web.errors import ApiError
from pipeline_project.lib.web.server import UnsafeBind, serve, spawn
from pipeline_project.lib.web.settings import WebSettings
from pipeline_project.lib.web.uploads import Upload, receive_files

__all__ = ["ApiError", "UnsafeBind", "Upload", "WebSettings", "create_app", "receive_files", "serve", "spawn"]
