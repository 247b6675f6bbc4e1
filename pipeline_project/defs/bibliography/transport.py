"""What a service's answer means: data, not found, or one of the failures worth telling apart.

Real services answer badly in more ways than a status code says: a 200 with an HTML maintenance
page, JSON cut off mid-body, a 429 whose body is HTML, a connection reset. Each becomes one of the
exceptions below, with a sentence a person can read, so the ledger says what happened.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx is imported where requests are made, not when definitions load
    import httpx


class ServiceError(Exception):
    """Worth retrying, and counted by the circuit breaker: 5xx, resets, timeouts, bad bodies."""


class RateLimited(ServiceError):
    """429 (or OpenAlex's 403 "slow down"): the throttle waits `retry_after` seconds and slows down."""

    def __init__(self, message: str, retry_after: float | None):
        super().__init__(message)
        self.retry_after = retry_after


class AllowanceSpent(ServiceError):
    """OpenAlex's daily allowance is used up (429 "Daily limit exceeded"); charged calls wait for its reset."""

    def __init__(self, message: str, reset_after: float):
        super().__init__(message)
        self.reset_after = reset_after


class Unavailable(Exception):
    """Not asked at all: the circuit is open, or the allowance is spent. Never counted as a failure."""


class BadRequest(Exception):
    """400/401/403 (not rate): retrying the same request cannot help."""


def retry_after_seconds(headers: "httpx.Headers", default: float | None = None) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else default


def _looks_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<") and ("<html" in head or "<!doctype" in head or "<body" in head)


def describe(response: "httpx.Response") -> str:
    text = response.text[:300].replace("\n", " ")
    if _looks_html(text):
        return f"HTTP {response.status_code} with an HTML page instead of JSON"
    return f"HTTP {response.status_code}: {text[:160]}"


def classify(service: str, response: "httpx.Response") -> dict | None:
    """The JSON body of a good answer, None for "no such work", else raise."""
    status = response.status_code
    if status == 404:
        return None
    if status == 429:
        if service == "openalex":  # the documented meaning of 429 at OpenAlex
            reset = retry_after_seconds(response.headers) or float(response.headers.get("x-ratelimit-reset") or 3600)
            raise AllowanceSpent(f"openalex daily allowance used up ({describe(response)})", reset)
        raise RateLimited(f"{service} asked us to slow down ({describe(response)})", retry_after_seconds(response.headers))
    if status == 403 and service == "openalex" and "rate limit" in response.text.lower():
        raise RateLimited(f"openalex asked us to slow down ({describe(response)})", retry_after_seconds(response.headers))
    if status >= 500 or status in (408, 425):
        raise ServiceError(f"{service} failed: {describe(response)}")
    if status >= 400:
        raise BadRequest(f"{service} refused the request: {describe(response)}")
    if _looks_html(response.text):
        raise ServiceError(f"{service} answered with an HTML page instead of JSON (HTTP {status})")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ServiceError(f"{service} sent malformed JSON ({len(response.content)} bytes): {exc}") from exc


def network_error(service: str, exc: "httpx.HTTPError") -> ServiceError:
    import httpx

    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ServiceError(f"{service} did not answer in time ({kind})")
    return ServiceError(f"{service} connection failed ({kind}: {exc})")
