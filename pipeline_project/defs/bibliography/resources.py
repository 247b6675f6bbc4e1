"""The bibliography's resource: how to reach Crossref and OpenAlex, and how hard to work.

Settings (environment; the resource reads them when it is built, secrets when they are used):
    PIPELINE_CROSSREF_MAILTO          contact address: Crossref's polite pool (10 req/s, 3 in flight)
                                      instead of the public one (5 req/s, 1 in flight)
    PIPELINE_OPENALEX_API_KEY         OpenAlex API key (required by OpenAlex since February 2026)
    PIPELINE_CROSSREF_BASE_URL        default https://api.crossref.org
    PIPELINE_OPENALEX_BASE_URL        default https://api.openalex.org
    PIPELINE_OPENALEX_SEARCH          always | fallback (search OpenAlex only when Crossref found no match)
    PIPELINE_BIB_MATCH_THRESHOLD      score a candidate needs (0–1, default 0.8)
    PIPELINE_BIB_CITATION_DEPTH       how far the crawl of cited works goes (default 1)
    PIPELINE_BIB_ENRICHMENT_WORKERS   references enriched at once (default 8; the services' limits
                                      decide how many requests are really in flight)
    PIPELINE_BIB_DOWNLOAD_WORKERS     PDFs fetched at once (default 4, at most 2 per host)
    PIPELINE_BIB_WAIT_SECONDS         how long a run retries references waiting for a service (default 120)

One process at a time talks to the services (a file lock under the storage root), so runs of
different batches never add up to more than a service allows.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import dagster as dg

from pipeline_project.defs.bibliography.services import (
    CROSSREF,
    OPENALEX,
    crossref_settings,
    match_threshold,
    openalex_search_policy,
    openalex_settings,
)
from pipeline_project.lib.settings import env_float, env_int, env_str


@lru_cache(maxsize=8)
def _services(key: tuple) -> dict:
    """One Service per configuration and process: throttles and breakers are shared by every run in it."""
    from pipeline_project.defs.bibliography.gateway import Service

    (cr_url, mailto, oa_url, api_key, failures, reset, timeout) = key
    common = dict(breaker_failures=failures, breaker_reset_seconds=reset, timeout_seconds=timeout)
    return {CROSSREF: Service(crossref_settings(base_url=cr_url, mailto=mailto, **common)),
            OPENALEX: Service(openalex_settings(base_url=oa_url, api_key=api_key, **common))}


class BibliographyResource(dg.ConfigurableResource):
    """Where the metadata services are and how the bibliography stages run."""

    crossref_base_url: str = "https://api.crossref.org"
    openalex_base_url: str = "https://api.openalex.org"
    crossref_mailto: str = ""  # empty: PIPELINE_CROSSREF_MAILTO at use time
    match_threshold: float = 0.8
    openalex_search: str = "always"
    citation_depth: int = 1
    enrichment_workers: int = 8
    download_workers: int = 4
    wait_seconds: float = 120.0
    retry_after_seconds: float = 300.0  # when the sensor re-runs a batch whose references still wait
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> "BibliographyResource":
        return cls(
            crossref_base_url=env_str("PIPELINE_CROSSREF_BASE_URL", "https://api.crossref.org"),
            openalex_base_url=env_str("PIPELINE_OPENALEX_BASE_URL", "https://api.openalex.org"),
            match_threshold=match_threshold(), openalex_search=openalex_search_policy(),
            citation_depth=env_int("PIPELINE_BIB_CITATION_DEPTH", 1),
            enrichment_workers=env_int("PIPELINE_BIB_ENRICHMENT_WORKERS", 8),
            download_workers=env_int("PIPELINE_BIB_DOWNLOAD_WORKERS", 4),
            wait_seconds=env_float("PIPELINE_BIB_WAIT_SECONDS", 120.0),
            retry_after_seconds=env_float("PIPELINE_BIB_RETRY_SECONDS", 300.0),
            breaker_failures=env_int("PIPELINE_BIB_BREAKER_FAILURES", 5),
            breaker_reset_seconds=env_float("PIPELINE_BIB_BREAKER_RESET_SECONDS", 30.0),
            timeout_seconds=env_float("PIPELINE_BIB_TIMEOUT_SECONDS", 30.0),
        )

    def services(self) -> dict:
        mailto = self.crossref_mailto or os.environ.get("PIPELINE_CROSSREF_MAILTO", "")
        api_key = os.environ.get("PIPELINE_OPENALEX_API_KEY", "")
        return _services((self.crossref_base_url, mailto, self.openalex_base_url, api_key, self.breaker_failures,
                          self.breaker_reset_seconds, self.timeout_seconds))

    def enricher(self):
        from pipeline_project.defs.bibliography.enrich import Enricher

        return Enricher(self.services(), threshold=self.match_threshold, search_policy=self.openalex_search)


_PROCESS_LOCK = threading.Lock()


@contextmanager
def services_lock(root: Path, log=lambda m: None) -> Iterator[None]:
    """Held while a run talks to Crossref and OpenAlex: one process at a time (an flock, released
    by the kernel if the process dies), so concurrent runs never exceed a service's limits."""
    path = Path(root) / "bibliography" / "services.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _PROCESS_LOCK, open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another run is talking to Crossref/OpenAlex; waiting for it to finish")
            started = time.monotonic()
            fcntl.flock(handle, fcntl.LOCK_EX)
            log(f"waited {time.monotonic() - started:.0f} s for the services lock")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"bibliography": BibliographyResource.from_env()})
