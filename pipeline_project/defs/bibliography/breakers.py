"""A circuit breaker per service: pybreaker's state machine, without serialising the calls.

pybreaker's `CircuitBreaker.call(func)` holds the breaker's lock for the whole call, which would
allow one request in flight per service whatever its limit. Here the request runs outside the
breaker; only its outcome is reported through `call` (instantly), so pybreaker still counts
consecutive failures, opens after `fail_max`, and closes again after a successful trial. While
open, nothing is sent; after `reset_timeout` exactly one request goes out as the half-open probe.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from pipeline_project.defs.bibliography.transport import Unavailable


class _Failed(Exception):
    pass


@dataclass
class BreakerStats:
    transitions: list = field(default_factory=list)  # (monotonic time, old state, new state)
    opened: int = 0
    closed: int = 0


CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"  # pybreaker's state names


@lru_cache(maxsize=1)
def _listener_class():
    import pybreaker  # imported on first use, not when definitions load

    class Listener(pybreaker.CircuitBreakerListener):
        def __init__(self, owner: "ServiceBreaker"):
            self.owner = owner

        def state_change(self, cb, old_state, new_state) -> None:
            self.owner._changed(old_state.name if old_state else None, new_state.name)

    return Listener


class ServiceBreaker:
    def __init__(self, name: str, fail_max: int = 5, reset_timeout: float = 30.0):
        self.name = name
        self.stats = BreakerStats()
        self.opened_at = 0.0
        self._probe_out = False
        self._lock = threading.Lock()
        import pybreaker

        self._open_error = pybreaker.CircuitBreakerError
        self.breaker = pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=reset_timeout, name=name,
                                                listeners=[_listener_class()(self)])

    @property
    def state(self) -> str:
        return self.breaker.current_state  # closed | open | half-open

    def _changed(self, old: str | None, new: str) -> None:
        self.stats.transitions.append((time.monotonic(), old, new))
        if new == OPEN:
            self.opened_at = time.monotonic()
            self.stats.opened += 1
        elif new == CLOSED and old is not None:
            self.stats.closed += 1

    def allow(self) -> bool:
        """Raise Unavailable while open; returns True when this request is the half-open probe."""
        with self._lock:
            state = self.state
            if state == CLOSED:
                return False
            wait = self.opened_at + self.breaker.reset_timeout - time.monotonic()
            if state == OPEN and wait > 0:
                raise Unavailable(f"{self.name}: circuit open after repeated failures; next probe in {wait:.0f} s")
            if self._probe_out:
                raise Unavailable(f"{self.name}: circuit half-open, a probe request is out")
            if state == OPEN:
                self.breaker.half_open()
            self._probe_out = True
            return True

    def retry_in(self) -> float:
        """Seconds until the breaker would let a probe through (0 when closed)."""
        if self.state == CLOSED:
            return 0.0
        return max(0.0, self.opened_at + self.breaker.reset_timeout - time.monotonic())

    def succeeded(self, probe: bool) -> None:
        self._report(None, probe)

    def failed(self, exc: BaseException, probe: bool) -> None:
        self._report(exc, probe)

    def _report(self, exc: BaseException | None, probe: bool) -> None:
        def outcome():
            if exc is not None:
                raise _Failed(str(exc))

        with self._lock:
            if probe:
                self._probe_out = False
            if self.state == OPEN and exc is None:
                return  # a request sent before the circuit opened; the probe decides
            try:
                self.breaker.call(outcome)
            except (_Failed, self._open_error):
                pass
