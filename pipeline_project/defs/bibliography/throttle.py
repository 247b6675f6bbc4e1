"""Per-service throttle: the documented ceiling (pyrate-limiter), requests in flight, and adaptation.

Three layers, in the order a request passes them:
1. in flight: at most `concurrency` requests (Crossref announces its own in `x-concurrency-limit`);
2. pause: after a 429/503 with Retry-After nobody sends until that time has passed;
3. rate: an adaptive pace (halved after a 429 — once per storm: answers to requests already on
   their way only extend the pause — and raised by a quarter after about a second's worth of good
   answers, never above the ceiling) and pyrate-limiter's sliding-window log holding the hard
   ceiling — the documented limit, or a lower one the service announces in its rate headers.
The window is `margin` (5 %) longer than the service's interval, so requests that leave on time still
arrive on time after scheduling and network jitter. A 429 that comes while we were sending at the
ceiling means that margin was too thin here (a loaded machine delays some requests more than others):
each such storm widens it by 5 points, up to 25 %.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import httpx
    from pyrate_limiter import Limiter

MIN_RATE = 0.2  # requests per second: slowest the throttle will go
CLIMB_FACTOR = 1.25  # pace × this after about one second's worth of good answers
MARGIN_STEP, MAX_MARGIN = 0.05, 0.25  # how the limiter's window widens after a 429 at the ceiling


@dataclass
class ThrottleStats:
    sent: int = 0
    throttled: int = 0  # 429/503 answers that made the throttle slow down
    paused_seconds: float = 0.0
    waits: float = 0.0  # seconds spent waiting for a slot
    rate_changes: list = field(default_factory=list)  # (monotonic time, new pace)


def _limiter(rate: float, margin: float) -> "Limiter":
    """Whole requests per (longer-than-a-second) window: 10/s → 10 per 1050 ms."""
    from pyrate_limiter import InMemoryBucket, Limiter, Rate

    count = max(1, int(rate)) if rate >= 1 else 1
    window_ms = int(1000 * (count / rate) * (1 + margin))
    return Limiter(InMemoryBucket([Rate(count, window_ms)]), buffer_ms=2)


class Throttle:
    def __init__(self, name: str, rate: float, concurrency: int, margin: float = 0.05):
        self.name, self.margin = name, margin
        self.ceiling = rate
        self.pace = rate
        self.concurrency = max(1, concurrency)
        self._configured_concurrency = self.concurrency
        self._limiter = _limiter(rate, margin)
        self._cond = threading.Condition()
        self._active = 0
        self._paused_until = 0.0
        self._next_start = 0.0
        self._good_since_change = 0
        self._slowed_at = -1e9
        self.stats = ThrottleStats()

    # -- passing a request through -----------------------------------------------------------------
    @contextmanager
    def slot(self) -> Iterator[None]:
        waited = time.monotonic()
        with self._cond:
            while self._active >= self.concurrency or time.monotonic() < self._paused_until:
                self._cond.wait(timeout=max(0.01, self._paused_until - time.monotonic()))
            self._active += 1
            start = max(time.monotonic(), self._next_start)
            if self.pace < self.ceiling:  # adaptive pace below the ceiling: space requests evenly
                self._next_start = start + 1.0 / self.pace
            limiter = self._limiter
        try:
            delay = start - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            limiter.try_acquire(self.name)  # blocks until the ceiling allows it
            with self._cond:
                self.stats.sent += 1
                self.stats.waits += time.monotonic() - waited
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    # -- learning from answers ---------------------------------------------------------------------
    def slow_down(self, retry_after: float | None, rate_limited: bool = True) -> None:
        """A 429 (rate_limited) or a 503 with Retry-After: pause everyone for Retry-After (default 1 s)
        and halve the pace; a 429 while at the ceiling also widens the limiter's margin."""
        pause = 1.0 if retry_after is None else min(retry_after, 300.0)
        now = time.monotonic()
        with self._cond:
            self._paused_until = max(self._paused_until, now + pause)
            self.stats.paused_seconds += pause
            self.stats.throttled += 1
            if now - self._slowed_at > pause:  # the same storm halves the pace once
                if rate_limited and self.pace >= self.ceiling and self.margin < MAX_MARGIN:
                    self.margin = round(min(MAX_MARGIN, self.margin + MARGIN_STEP), 3)
                    self._limiter = _limiter(self.ceiling, self.margin)
                self._set_pace(max(MIN_RATE, self.pace / 2))
                self._slowed_at = now
            self._good_since_change = 0

    def answered(self, headers: "httpx.Headers | None" = None) -> None:
        """A good answer: read the service's announced limits; climb back towards the ceiling."""
        with self._cond:
            if headers is not None:
                self._read_limits(headers)
            self._good_since_change += 1
            if self.pace < self.ceiling and self._good_since_change >= max(3, int(self.pace)):
                self._set_pace(min(self.ceiling, self.pace * CLIMB_FACTOR))
                self._good_since_change = 0
            self._cond.notify_all()

    def _read_limits(self, headers: "httpx.Headers") -> None:
        limit, interval = headers.get("x-rate-limit-limit"), headers.get("x-rate-limit-interval", "1s")
        if limit and limit.replace(".", "", 1).isdigit():
            seconds = float(interval.rstrip("s") or 1) if interval.rstrip("s").replace(".", "", 1).isdigit() else 1.0
            announced = float(limit) / seconds
            if announced < self.ceiling:  # the service says less than we assumed: believe it
                self.ceiling = announced
                self._limiter = _limiter(announced, self.margin)
                self._set_pace(min(self.pace, announced))
        concurrency = headers.get("x-concurrency-limit")
        if concurrency and concurrency.isdigit():
            self.concurrency = max(1, min(self._configured_concurrency, int(concurrency)))

    def _set_pace(self, pace: float) -> None:
        if pace != self.pace:
            self.pace = pace
            self.stats.rate_changes.append((time.monotonic(), round(pace, 3)))
            if pace >= self.ceiling:
                self._next_start = 0.0

    def state(self) -> dict:
        with self._cond:
            paused = max(0.0, self._paused_until - time.monotonic())
            return {"ceiling_per_s": round(self.ceiling, 2), "pace_per_s": round(self.pace, 2), "margin": self.margin,
                    "in_flight": self._active, "concurrency": self.concurrency, "paused_s": round(paused, 1),
                    "sent": self.stats.sent, "throttled": self.stats.throttled}


class Allowance:
    """OpenAlex's daily allowance, as its headers and its 429 tell it: charged calls wait for the reset."""

    def __init__(self):
        self._lock = threading.Lock()
        self.spent_until = 0.0  # monotonic time
        self.remaining_usd: float | None = None

    def check(self) -> float:
        """Seconds until charged calls may go again (0 = now)."""
        with self._lock:
            return max(0.0, self.spent_until - time.monotonic())

    def spent(self, reset_after: float) -> None:
        with self._lock:
            self.spent_until = time.monotonic() + max(1.0, reset_after)

    def read(self, headers: "httpx.Headers", cost_usd: float) -> None:
        remaining = headers.get("x-ratelimit-remaining-usd")
        try:
            value = float(remaining) if remaining is not None else None
        except ValueError:
            value = None
        with self._lock:
            self.remaining_usd = value
        if value is not None and value < cost_usd:
            self.spent(float(headers.get("x-ratelimit-reset") or 3600))
