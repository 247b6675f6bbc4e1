"""Building services and references against the replay server."""

from __future__ import annotations

from pipeline_project.defs.bibliography.enrich import Enricher, RefInput
from pipeline_project.defs.bibliography.gateway import Service
from pipeline_project.defs.bibliography.parsing import parse_entries
from pipeline_project.defs.bibliography.services import CROSSREF, OPENALEX, crossref_settings, openalex_settings
from pipeline_project.samples.api_replay import ApiReplay, CitedWork, cited_works


def services(api: ApiReplay, *, mailto: str = "tests@example.org", **overrides) -> dict[str, Service]:
    # margin 10 % (the product's default is 5 %): this replay server runs in the test's own process, so the
    # arrival times it books wait for the GIL behind a dozen client threads and jitter more than over a
    # network; the benchmark measures the default against a server in a process of its own
    common = dict(margin=overrides.pop("margin", 0.10), breaker_failures=overrides.pop("breaker_failures", 5),
                  breaker_reset_seconds=overrides.pop("breaker_reset_seconds", 30.0),
                  timeout_seconds=overrides.pop("timeout_seconds", 10.0), attempts=overrides.pop("attempts", 3))
    return {CROSSREF: Service(crossref_settings(base_url=api.base_url(CROSSREF), mailto=mailto, **common)),
            OPENALEX: Service(openalex_settings(base_url=api.base_url(OPENALEX), api_key="test-key", **common))}


def references(works: list[CitedWork]) -> list[RefInput]:
    parsed = parse_entries([w.text for w in works])
    return [RefInput(f"ref-{i:04d}", w.text, fields.as_dict()) for i, (w, (fields, _)) in enumerate(zip(works, parsed))]


def works(api: ApiReplay, count: int, seed: int = 0, **kw) -> list[CitedWork]:
    return cited_works(api.catalog, count, seed=seed, **kw)


def correct(work: CitedWork, outcome) -> bool:
    """Matched to the cited work, or unmatched when no service holds it."""
    if work.work_id is None:
        return outcome.status == "unmatched"
    return outcome.match is not None and work.work_id in (outcome.match.doi, outcome.match.openalex_id)


def enricher(svc: dict[str, Service], **kw) -> Enricher:
    return Enricher(svc, **kw)
