"""One service as the enrichment sees it: `get(path, params)` within every rule of that service.

A request passes the circuit breaker (not sent while open), the daily allowance (charged calls
only), the throttle (in flight, pause, pace, ceiling), then goes out. Transient failures are
retried up to `attempts` times with back-off; 429s make the throttle pause for Retry-After and slow
down, and are retried without counting against the breaker (they are the service pacing us, not
failing). Every outcome is counted for the dashboard.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

from pipeline_project.defs.bibliography.breakers import ServiceBreaker
from pipeline_project.defs.bibliography.services import OPENALEX, ServiceSettings
from pipeline_project.defs.bibliography.throttle import Allowance, Throttle
from pipeline_project.defs.bibliography.transport import (
    AllowanceSpent,
    RateLimited,
    ServiceError,
    Unavailable,
    classify,
    network_error,
    retry_after_seconds,
)

if TYPE_CHECKING:
    import httpx

COSTS_USD = {"singleton": 0.0, "list": 0.0001, "search": 0.001}
MAX_RATE_LIMITED = 6  # 429s tolerated for one request before it is given up for now


class Service:
    def __init__(self, settings: ServiceSettings, client: "httpx.Client | None" = None):
        import httpx

        self.settings = settings
        self.name = settings.name
        self.client = client or httpx.Client(timeout=httpx.Timeout(settings.timeout_seconds, connect=10.0),
                                             headers={"User-Agent": settings.user_agent},
                                             limits=httpx.Limits(max_connections=settings.concurrency + 2))
        self.throttle = Throttle(settings.name, settings.rate, settings.concurrency, settings.margin)
        self.breaker = ServiceBreaker(settings.name, settings.breaker_failures, settings.breaker_reset_seconds)
        self.allowance = Allowance()
        self.counts: Counter = Counter()  # outcome → n (ok, not_found, error:<kind>, unavailable ...)
        self.errors: Counter = Counter()  # readable reason → n
        self._lock = threading.Lock()

    def _count(self, key: str, reason: str | None = None) -> None:
        with self._lock:
            self.counts[key] += 1
            if reason:
                self.errors[reason[:120]] += 1

    def _params(self, params: dict) -> dict:
        params = dict(params)
        if self.settings.mailto:
            params.setdefault("mailto", self.settings.mailto)
        if self.settings.api_key:
            params.setdefault("api_key", self.settings.api_key)
        return params

    def available_in(self, cost: str = "singleton") -> float:
        """Seconds until this service would take a request of this kind (0 = now)."""
        wait = self.breaker.retry_in()
        if cost != "singleton":
            wait = max(wait, self.allowance.check())
        return wait

    def get(self, path: str, params: dict | None = None, cost: str = "singleton") -> dict | None:
        """JSON body, or None when the service has no such work. Raises Unavailable (not asked:
        circuit open, allowance spent), ServiceError (asked, failed every attempt), BadRequest."""
        url = self.settings.base_url.rstrip("/") + path
        failures, limited = 0, 0
        while True:
            if cost != "singleton" and (wait := self.allowance.check()) > 0:
                self._count("unavailable")
                raise Unavailable(f"{self.name}: daily allowance used up; resets in {wait / 3600:.1f} h")
            probe = self.breaker.allow()  # raises Unavailable while open
            try:
                body = self._once(url, params or {}, cost)
            except RateLimited as exc:
                self.breaker.succeeded(probe)  # it answered: alive
                self.throttle.slow_down(exc.retry_after)
                self._count("rate_limited", str(exc))
                limited += 1
                if limited >= MAX_RATE_LIMITED:
                    raise
                continue
            except AllowanceSpent as exc:
                self.breaker.succeeded(probe)
                self.allowance.spent(exc.reset_after)
                self._count("allowance_spent", str(exc))
                raise Unavailable(str(exc)) from exc
            except ServiceError as exc:
                self.breaker.failed(exc, probe)
                self._count("error", str(exc))
                failures += 1
                if failures >= self.settings.attempts or self.breaker.state != "closed":
                    raise
                time.sleep(min(8.0, 0.5 * 2 ** failures) * (0.5 + random.random() / 2))
                continue
            except Exception as exc:  # BadRequest and anything unexpected: the service did answer
                self.breaker.succeeded(probe)
                self._count("refused", str(exc))
                raise
            self.breaker.succeeded(probe)
            self._count("ok" if body is not None else "not_found")
            return body

    def _once(self, url: str, params: dict, cost: str) -> dict | None:
        import httpx

        with self.throttle.slot():
            try:
                response = self.client.get(url, params=self._params(params))
            except httpx.HTTPError as exc:
                raise network_error(self.name, exc) from exc
        try:
            body = classify(self.name, response)
        except ServiceError:
            if response.status_code == 503 and "retry-after" in response.headers:
                self.throttle.slow_down(retry_after_seconds(response.headers), rate_limited=False)  # maintenance
            raise
        self.throttle.answered(response.headers)
        if self.name == OPENALEX:
            self.allowance.read(response.headers, COSTS_USD.get(cost, 0.0))
        return body

    def state(self) -> dict:
        with self._lock:
            counts = dict(self.counts)
        return {"service": self.name, "pool": self.settings.pool, "breaker": self.breaker.state,
                "breaker_opened": self.breaker.stats.opened, "breaker_closed": self.breaker.stats.closed,
                "allowance_resets_in_s": round(self.allowance.check()), **self.throttle.state(), "counts": counts}

    def close(self) -> None:
        self.client.close()
