"""Starting a run at once through the Dagster UI's GraphQL API, instead of waiting for a sensor tick.

`pipeline-project dev` tells the web server where its Dagster UI listens (PIPELINE_DAGSTER_URL,
e.g. http://127.0.0.1:3000). A route that has just registered work can then launch the run that
does it with Dagster's public GraphQL client (`DagsterGraphQLClient.submit_job_execution`): the run
is queued in the same instance as a sensor's would be, and the daemon's run queue starts it. That
saves the wait for the next sensor tick (up to its interval) before the run is even requested.

When no UI is configured or it cannot be reached, `launch_partition_run` raises `LaunchUnavailable`
with the reason and the caller leaves the work to its sensor, so a missing UI costs time, never work.
A caller must make sure its sensor does not request a second run for the same work meanwhile (the
drawings domain marks the comparison before launching; see defs/drawings/sensors.py).
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

DAGSTER_URL_ENV = "PIPELINE_DAGSTER_URL"
PARTITION_TAG = "dagster/partition"
DEFAULT_TIMEOUT_SECONDS = 10

log = logging.getLogger("pipeline_project.web")


class LaunchUnavailable(RuntimeError):
    """No run was launched through the UI; str(exc) says why (the sensor will request it instead)."""


def dagster_url() -> str | None:
    """The Dagster UI's base URL, from PIPELINE_DAGSTER_URL (unset or empty: none)."""
    return (os.environ.get(DAGSTER_URL_ENV) or "").strip().rstrip("/") or None


def _client(url: str, timeout: int):
    from dagster_graphql import DagsterGraphQLClient

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LaunchUnavailable(f"{DAGSTER_URL_ENV}={url!r} is not an http(s) URL of the Dagster UI")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return DagsterGraphQLClient(host, port_number=parts.port, use_https=parts.scheme == "https",
                                timeout=timeout, path_prefix=parts.path.rstrip("/"))


def launch_partition_run(job_name: str, partition_key: str, *, tags: dict[str, str] | None = None,
                         run_config: dict | None = None, url: str | None = None,
                         timeout: int = DEFAULT_TIMEOUT_SECONDS) -> str:
    """Queue a run of `job_name` for one partition through the Dagster UI; returns its run id.

    Raises LaunchUnavailable when no UI is configured, it cannot be reached, or it refuses the run."""
    url = url or dagster_url()
    if not url:
        raise LaunchUnavailable(f"no Dagster UI configured ({DAGSTER_URL_ENV} is not set)")
    try:
        from dagster_graphql import DagsterGraphQLClientError
    except ImportError as exc:  # installed with dagster-webserver; without it there is no UI to ask anyway
        raise LaunchUnavailable(f"dagster-graphql is not installed ({exc})") from exc
    try:
        run_id = _client(url, timeout).submit_job_execution(
            job_name, run_config=run_config or {}, tags={**(tags or {}), PARTITION_TAG: partition_key})
    except (DagsterGraphQLClientError, OSError, ValueError) as exc:
        unreachable = _os_error(exc)
        if unreachable is not None:  # connection refused, timed out, no such host
            raise LaunchUnavailable(f"the Dagster UI at {url} cannot be reached ({unreachable})") from exc
        raise LaunchUnavailable(f"the Dagster UI at {url} did not launch {job_name} ({_short(exc)})") from exc
    log.info("launched %s for partition %s through the Dagster UI: run %s", job_name, partition_key, run_id)
    return run_id


def _os_error(exc: BaseException) -> str | None:
    """The innermost operating-system error behind a client error (the client wraps it twice)."""
    found = None
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError):
            found = exc.strerror or str(exc) or type(exc).__name__
        exc = exc.__cause__ or exc.__context__
    return found


def _short(exc: Exception) -> str:
    """The first line of a GraphQL client error (they carry the whole query text after it)."""
    text = " ".join(str(a) for a in exc.args if a) or type(exc).__name__
    return text.strip().splitlines()[0][:300]
