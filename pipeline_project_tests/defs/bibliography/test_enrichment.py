"""Enrichment against the loopback replay of Crossref and OpenAlex: the server's own books say
whether any limit was exceeded; faults are injected there; every reference must end matched,
unmatched or waiting."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline_project.defs.bibliography.enrich import MATCHED, UNMATCHED, WAITING
from pipeline_project.defs.bibliography.pool import enrich_all
from pipeline_project.defs.bibliography.services import CROSSREF, OPENALEX

from .helpers import correct, enricher, references, services, works


@pytest.mark.parametrize("mailto,rate,in_flight", [("tests@example.org", 10, 3), ("", 5, 1)])
def test_no_service_ever_sees_more_than_its_limits(replay, mailto, rate, in_flight):
    cited = works(replay, 45, seed=1)
    svc = services(replay, mailto=mailto)
    out = enrich_all(enricher(svc), references(cited), workers=12)
    crossref, openalex = replay.books[CROSSREF], replay.books[OPENALEX]
    assert len(crossref.arrivals) > 20
    assert crossref.max_per_window(1.0) <= rate and crossref.max_active <= in_flight
    assert openalex.max_per_window(1.0) <= 100
    assert crossref.limit_violations == openalex.limit_violations == 0
    assert {o.status for o in out.values()} <= {MATCHED, UNMATCHED}
    assert sum(correct(w, out[r.ref_id]) for w, r in zip(cited, references(cited))) >= 0.9 * len(cited)


def test_a_429_storm_is_waited_out_and_the_pace_climbs_back(replay):
    replay.faults.add(CROSSREF, "429", count=4, retry_after=1)
    replay.faults.add(CROSSREF, "429_html", count=2, retry_after=1)
    cited = works(replay, 40, seed=2, with_doi=0.0)
    svc = services(replay)
    out = enrich_all(enricher(svc), references(cited), workers=8)
    books = replay.books[CROSSREF]
    assert books.injected["429"] == 4 and books.injected["429_html"] == 2
    assert books.limit_violations == 0  # the client never went over the limit on its own
    throttle = svc[CROSSREF].throttle
    assert throttle.stats.throttled == 6 and min(p for _, p in throttle.stats.rate_changes) < 10
    assert throttle.pace == throttle.ceiling == 10  # climbed back after the storm
    first_429 = next(t for t, kind in books.fault_times if kind.startswith("429"))
    soon_after = [t for t in books.arrivals if first_429 < t < first_429 + 0.9]
    assert len(soon_after) <= 3  # only requests already on their way; the rest waited for Retry-After
    assert {o.status for o in out.values()} <= {MATCHED, UNMATCHED}


def test_bad_answers_are_retried_and_counted_by_kind(replay):
    for kind in ("malformed_json", "html_200", "reset", "503"):
        replay.faults.add(CROSSREF, kind)
    replay.faults.add(OPENALEX, "malformed_json")
    replay.faults.add(OPENALEX, "slow", seconds=1.5)
    cited = works(replay, 12, seed=3, with_doi=0.0, unknown=0.0)
    svc = services(replay, timeout_seconds=0.8)
    out = enrich_all(enricher(svc), references(cited), workers=4)
    errors = " | ".join(svc[CROSSREF].errors) + " | " + " | ".join(svc[OPENALEX].errors)
    for words in ("malformed JSON", "HTML page instead of JSON", "connection failed", "HTTP 503", "did not answer in time"):
        assert words in errors
    assert {o.status for o in out.values()} <= {MATCHED, UNMATCHED}
    assert sum(correct(w, out[r.ref_id]) for w, r in zip(cited, references(cited))) >= 0.9 * len(cited)


def test_breaker_opens_during_an_outage_the_other_service_answers_and_it_closes_after(replay):
    svc = services(replay, breaker_failures=3, breaker_reset_seconds=1.0, attempts=2)
    replay.faults.set_down(CROSSREF, "503")
    cited = works(replay, 30, seed=4, with_doi=0.0)
    refs = references(cited)
    done = threading.Event()
    out = {}

    def run():
        out.update(enrich_all(enricher(svc), refs, workers=6, deadline_seconds=60))
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while svc[CROSSREF].breaker.stats.opened == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    down_requests = len(replay.books[CROSSREF].arrivals)
    time.sleep(2.5)  # open for a while: only half-open probes may reach the service
    probes = len(replay.books[CROSSREF].arrivals) - down_requests
    replay.faults.set_down(CROSSREF, None)
    worker.join(timeout=120)
    assert done.is_set()
    breaker = svc[CROSSREF].breaker
    assert breaker.stats.opened >= 1 and breaker.stats.closed >= 1 and breaker.state == "closed"
    assert down_requests <= 3 + 3 * 2  # opens after 3 failures; at most 3 in flight, 2 attempts each
    assert probes <= 4  # one probe per reset interval while open
    assert replay.books[OPENALEX].statuses[200] > 0  # OpenAlex was asked meanwhile
    assert {o.status for o in out.values()} <= {MATCHED, UNMATCHED}  # the waiting ones were retried
    assert sum(correct(w, out[r.ref_id]) for w, r in zip(cited, refs)) >= 0.9 * len(cited)


def test_both_services_down_leaves_references_waiting_then_a_later_run_finishes_them(replay):
    replay.faults.set_down(CROSSREF, "reset")
    replay.faults.set_down(OPENALEX, "503")
    cited = works(replay, 8, seed=5)
    refs = references(cited)
    svc = services(replay, breaker_failures=2, breaker_reset_seconds=0.5, attempts=1)
    first = enrich_all(enricher(svc), refs, workers=4, deadline_seconds=0)
    assert {o.status for o in first.values()} == {WAITING}
    assert all("waiting for" in o.reason for o in first.values())
    replay.faults.set_down(CROSSREF, None)
    replay.faults.set_down(OPENALEX, None)
    time.sleep(0.6)  # past the breakers' reset timeout
    second = enrich_all(enricher(svc), refs, workers=4, deadline_seconds=30)
    assert {o.status for o in second.values()} <= {MATCHED, UNMATCHED}
    assert sum(correct(w, second[r.ref_id]) for w, r in zip(cited, refs)) >= 0.85 * len(cited)


@pytest.mark.parametrize("how", ["headers", "429"])
def test_a_spent_openalex_allowance_stops_searches_but_not_free_lookups(replay, how):
    if how == "headers":  # the remaining allowance in the answers' headers runs out after three searches
        replay.openalex_daily_usd = 0.003
    else:  # the documented answer: 429 "Daily limit exceeded"
        replay.faults.add(OPENALEX, "daily_limit")
    cited = works(replay, 16, seed=6, with_doi=0.0, unknown=0.0)
    svc = services(replay)
    out = enrich_all(enricher(svc), references(cited), workers=4, deadline_seconds=0)
    books = replay.books[OPENALEX]
    assert books.paths["/works"] <= 3 + 4  # what was already on its way, then no more searches
    assert books.statuses[429] <= 4  # only searches already on their way (4 workers) when it learnt
    assert svc[OPENALEX].allowance.check() > 0
    assert svc[OPENALEX].breaker.state == "closed"  # a spent allowance is not a failure
    assert {o.status for o in out.values()} <= {MATCHED, UNMATCHED, WAITING}
    waiting = [o for o in out.values() if o.status == WAITING]
    assert all("allowance" in o.asked[OPENALEX] for o in waiting)
    doi_cited = works(replay, 6, seed=7, with_doi=1.0, unknown=0.0)  # DOI lookups are free: still answered
    doi_out = enrich_all(enricher(svc), references(doi_cited), workers=2)
    assert any(o.match and o.match.service == OPENALEX for o in doi_out.values())
