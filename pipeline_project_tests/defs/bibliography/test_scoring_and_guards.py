"""Scoring candidates, and the throttle and breaker on their own (no server)."""

from __future__ import annotations

import time

import httpx
import pytest

from pipeline_project.defs.bibliography.breakers import ServiceBreaker
from pipeline_project.defs.bibliography.scoring import Candidate, best_of, score
from pipeline_project.defs.bibliography.throttle import Throttle
from pipeline_project.defs.bibliography.transport import (
    AllowanceSpent,
    RateLimited,
    ServiceError,
    Unavailable,
    classify,
)

REF = {"title": "Über die Ermüdung von Stahlbrücken unter Verkehrslast", "year": 2019, "first_author": "Müller"}


def test_the_cited_work_scores_high_and_others_low():
    same = Candidate("crossref", title="Uber die Ermudung von Stahlbrucken unter Verkehrslast", year=2019,
                     first_author="Muller")
    online_first = Candidate("openalex", title=REF["title"], year=2018, first_author="Müller")
    other = Candidate("crossref", title="Fatigue of concrete bridges", year=2019, first_author="Müller")
    assert score(REF, same).total >= 0.95
    assert 0.8 <= score(REF, online_first).total < score(REF, same).total
    assert score(REF, other).total < 0.8
    best, sc = best_of(REF, [other, online_first, same])
    assert best is same and sc.total >= 0.95


def test_a_reference_without_title_is_matched_on_volume_and_page():
    ref = {"title": None, "year": 1987, "first_author": "Ellis", "volume": "4", "pages": "1697"}
    right = Candidate("crossref", title="Exact general relativistic...", year=1987, first_author="Ellis",
                      volume="4", first_page="1697")
    wrong = Candidate("crossref", title="Something else", year=1987, first_author="Ellis", volume="9", first_page="12")
    assert score(ref, right).total >= 0.8 > score(ref, wrong).total


def _response(status: int, body: str, content_type: str = "application/json", **headers) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": content_type, **headers}, content=body.encode())


def test_answers_are_classified_with_readable_reasons():
    assert classify("crossref", _response(404, "Resource not found.", "text/plain")) is None
    with pytest.raises(RateLimited) as limited:
        classify("crossref", _response(429, "<html><body><h1>429 Too Many Requests</h1></body></html>", "text/html",
                                       **{"retry-after": "3"}))
    assert limited.value.retry_after == 3.0 and "HTML page" in str(limited.value)
    with pytest.raises(AllowanceSpent):
        classify("openalex", _response(429, '{"error": "Daily limit exceeded"}'))
    with pytest.raises(ServiceError, match="malformed JSON"):
        classify("crossref", _response(200, '{"status": "ok", "mess'))
    with pytest.raises(ServiceError, match="HTML page instead of JSON"):
        classify("openalex", _response(200, "<!DOCTYPE html><html><body>maintenance</body></html>", "text/html"))


def test_the_throttle_halves_once_per_storm_and_climbs_back():
    throttle = Throttle("t", rate=10, concurrency=3)
    throttle.slow_down(0.01)
    throttle.slow_down(0.01)  # the same storm
    assert throttle.pace == 5
    time.sleep(0.02)
    throttle.slow_down(0.01)  # a new storm
    assert throttle.pace == 2.5
    for _ in range(40):
        throttle.answered()
    assert throttle.pace == throttle.ceiling == 10


def test_a_429_at_the_ceiling_widens_the_margin_once_per_storm_and_not_past_its_cap():
    throttle = Throttle("t", rate=10, concurrency=3)
    assert throttle.margin == 0.05
    throttle.slow_down(0.01)
    throttle.slow_down(0.01)  # the same storm
    assert throttle.margin == 0.10
    time.sleep(0.02)
    throttle.slow_down(0.01)  # a new storm, but already below the ceiling: the pace was the problem
    assert throttle.margin == 0.10
    throttle.slow_down(0.01, rate_limited=False)  # a 503 with Retry-After says nothing about our margin
    for _ in range(40):
        throttle.answered()
    for _ in range(10):  # storm after storm, each once the pace had climbed back to the ceiling
        assert throttle.pace == throttle.ceiling
        time.sleep(0.02)
        throttle.slow_down(0.01)
        for _ in range(40):
            throttle.answered()
    assert throttle.margin == 0.25


def test_the_throttle_believes_lower_limits_the_service_announces():
    throttle = Throttle("t", rate=10, concurrency=3)
    throttle.answered(httpx.Headers({"x-rate-limit-limit": "5", "x-rate-limit-interval": "1s",
                                     "x-concurrency-limit": "1"}))
    assert throttle.ceiling == 5 and throttle.concurrency == 1


def test_the_breaker_opens_lets_one_probe_through_and_closes():
    breaker = ServiceBreaker("svc", fail_max=3, reset_timeout=0.2)
    for _ in range(3):
        probe = breaker.allow()
        breaker.failed(ServiceError("down"), probe)
    assert breaker.state == "open"
    with pytest.raises(Unavailable, match="circuit open"):
        breaker.allow()
    time.sleep(0.25)
    assert breaker.allow() is True  # the probe
    with pytest.raises(Unavailable, match="probe"):
        breaker.allow()  # nobody else while the probe is out
    breaker.succeeded(True)
    assert breaker.state == "closed" and breaker.stats.opened == 1 and breaker.stats.closed == 1
    assert breaker.allow() is False
