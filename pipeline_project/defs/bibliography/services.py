"""The two metadata services and their rules as of 2026, encoded once.

Crossref (recorded in its own headers, June 2026): the public pool allows 5 requests/s with 1 in
flight; the polite pool, joined by giving a contact address (`mailto`), allows 10 requests/s with
3 in flight. Exceeding either gives 429.
OpenAlex (developer docs, from 13 February 2026): an API key is required (free); looking up one
work is free, list and search calls are charged against a daily allowance ($1/day on a free key:
10,000 list calls or 1,000 searches); every plan allows 100 requests/s; a spent allowance is
answered with 429 "Daily limit exceeded", too fast with 403 "Rate limit exceeded".
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_project.lib.settings import env_float, env_int, env_str

CROSSREF, OPENALEX = "crossref", "openalex"
SERVICES = (CROSSREF, OPENALEX)
USER_AGENT = "pipeline_project-bibliography/0.1"


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    base_url: str
    rate: float  # requests per second, the documented ceiling
    concurrency: int  # requests in flight
    pool: str  # what the service calls this class of client
    mailto: str = ""
    api_key: str = ""
    timeout_seconds: float = 30.0
    attempts: int = 3  # per request, for transient failures
    breaker_failures: int = 5  # consecutive failures that open the circuit
    breaker_reset_seconds: float = 30.0  # open → half-open (one probe)
    margin: float = 0.05  # windows this much longer than the service's: a request delayed on its way (thread
    # scheduling, network) still arrives within the limit; measured delays reach 10–50 ms on a loaded machine

    @property
    def user_agent(self) -> str:
        return f"{USER_AGENT} (mailto:{self.mailto})" if self.mailto else USER_AGENT


def _common() -> dict:
    return dict(timeout_seconds=env_float("PIPELINE_BIB_TIMEOUT_SECONDS", 30.0),
                attempts=env_int("PIPELINE_BIB_ATTEMPTS", 3),
                breaker_failures=env_int("PIPELINE_BIB_BREAKER_FAILURES", 5),
                breaker_reset_seconds=env_float("PIPELINE_BIB_BREAKER_RESET_SECONDS", 30.0))


def crossref_settings(**overrides) -> ServiceSettings:
    """Polite pool (10/s, 3 in flight) when PIPELINE_CROSSREF_MAILTO is set, else public (5/s, 1)."""
    mailto = overrides.pop("mailto", env_str("PIPELINE_CROSSREF_MAILTO", ""))
    polite = bool(mailto)
    values = dict(name=CROSSREF, base_url=env_str("PIPELINE_CROSSREF_BASE_URL", "https://api.crossref.org"),
                  rate=10.0 if polite else 5.0, concurrency=3 if polite else 1,
                  pool="polite" if polite else "public", mailto=mailto, **_common())
    values.update(overrides)
    return ServiceSettings(**values)


def openalex_settings(**overrides) -> ServiceSettings:
    """100 requests/s on every plan; in flight: PIPELINE_OPENALEX_CONCURRENCY (default 8, not documented)."""
    values = dict(name=OPENALEX, base_url=env_str("PIPELINE_OPENALEX_BASE_URL", "https://api.openalex.org"),
                  rate=100.0, concurrency=env_int("PIPELINE_OPENALEX_CONCURRENCY", 8), pool="key",
                  api_key=env_str("PIPELINE_OPENALEX_API_KEY", ""), **_common())
    values.update(overrides)
    return ServiceSettings(**values)


def match_threshold() -> float:
    """Score (0–1) a candidate needs to be accepted as the cited work."""
    return env_float("PIPELINE_BIB_MATCH_THRESHOLD", 0.8)


def openalex_search_policy() -> str:
    """always: every reference without an identifier is searched on OpenAlex too (a search costs
    $0.001 of the daily allowance); fallback: only when Crossref found nothing acceptable."""
    policy = env_str("PIPELINE_OPENALEX_SEARCH", "always").lower()
    if policy not in ("always", "fallback"):
        raise ValueError(f"PIPELINE_OPENALEX_SEARCH must be 'always' or 'fallback', not {policy!r}")
    return policy
