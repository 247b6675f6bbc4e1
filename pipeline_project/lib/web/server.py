"""Running the server: in this process (`serve`), or as a child process next to the Dagster UI
(`spawn`). Both refuse a non-loopback address without an access token."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from pipeline_project.lib.web.security import UnsafeBind, check_bind
from pipeline_project.lib.web.settings import DEFAULT_HOST, DEFAULT_PORT, WebSettings

__all__ = ["UnsafeBind", "add_arguments", "main", "serve", "spawn"]

GRACEFUL_SHUTDOWN_SECONDS = 3


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None, *,
          log_level: str = "info") -> None:
    """Serve until interrupted. token: the access token (default $PIPELINE_API_TOKEN)."""
    import uvicorn

    from pipeline_project.lib.web.app import create_app

    settings = WebSettings.from_env(token)
    check_bind(host, settings.token)
    app = create_app(settings)
    print(f"pipeline_project web server on http://{host}:{port}  (API under /api/v1, docs at /api/docs; "
          f"access token {'required' if settings.token else 'not set: loopback only'})", flush=True)
    # Ctrl-C or SIGTERM: uvicorn stops accepting, then gives open requests (a progress page's long
    # poll, an upload) a few seconds before it closes them, so a stop never hangs on a browser tab;
    # a second Ctrl-C stops at once.
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)


def spawn(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None, *,
          env: dict[str, str] | None = None, stdout=None, stderr=None, launcher=None) -> subprocess.Popen:
    """Start the server in a child process (its own process group); stop it with proc.terminate().
    Checks the address first, so a refusal is raised here rather than lost in the child's log.
    launcher(argv, env=..., stdout=..., stderr=...) starts it instead of subprocess.Popen (dev's
    supervisor, which tracks and stops everything it starts)."""
    child_env = dict(os.environ if env is None else env)
    if token is not None:
        child_env["PIPELINE_API_TOKEN"] = token
    check_bind(host, child_env.get("PIPELINE_API_TOKEN") or None)
    argv = [sys.executable, "-m", "pipeline_project.lib.web", "--host", host, "--port", str(port)]
    if launcher is not None:
        return launcher(argv, env=child_env, stdout=stdout, stderr=stderr)
    return subprocess.Popen(argv, env=child_env, stdout=stdout, stderr=stderr, start_new_session=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--host/--port for `pipeline-project serve` (and `dev`, as --api-host/--api-port if it likes)."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; any other needs PIPELINE_API_TOKEN)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")


def run_from_args(args: argparse.Namespace) -> int:
    """The body of `pipeline-project serve`: 0 on a clean stop, 2 when the address is refused."""
    try:
        serve(args.host, args.port)
    except UnsafeBind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline_project.lib.web",
                                     description="The pipeline_project web server (API and review pages).")
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
