"""Fetching one slice of the list into the inbox: resumable, retried, verified, atomic.

Each file is written to `<inbox>/.partial/<name>.part` (the intake sensor ignores dot-folders),
resumed with an HTTP Range request after a dropped connection, checked against Content-Length (and
the list's sha256/size when given), fsynced and renamed into the inbox. Only then does the ledger
record it as done, so a crash can cause at most a resumed download, never a lost or doubled one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from pipeline_project.defs.ingest.items import DownloadItem
from pipeline_project.defs.ingest.download_ledger import DONE, FAILED, DownloadLedger

PARTIAL_DIR = ".partial"
CHUNK = 1 << 16


class TransientError(Exception):
    """Worth retrying: connection drops, timeouts, 429/5xx, short or corrupt bodies."""


class PermanentError(Exception):
    """Not worth retrying: 4xx other than 408/429."""


class DiskFull(Exception):
    """ENOSPC while writing: pause, keep the partial file for a later resume."""


@dataclass
class FetchSettings:
    timeout_seconds: float = 60.0
    attempts: int = 5
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    per_host_concurrency: int = 2
    user_agent: str = "pipeline_project-downloader/0.1"


@dataclass
class SliceReport:
    downloaded: int = 0
    already_done: int = 0  # in the ledger before this run (skipped)
    adopted: int = 0  # complete file found in the inbox from a crashed run: recorded, not re-fetched
    failed_permanent: int = 0
    failed_transient: int = 0  # retries exhausted: left out of the ledger so a re-run tries again
    not_started: int = 0  # stopped for disk backpressure
    bytes: int = 0
    resumed_bytes: int = 0  # bytes saved by Range resumes
    seconds: float = 0.0
    paused_reason: str = ""
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.not_started == 0 and self.failed_transient == 0


class HostLimiter:
    """At most N concurrent requests per host: polite to the source, independent of worker count."""

    def __init__(self, per_host: int):
        self.per_host = max(1, per_host)
        self._lock = threading.Lock()
        self._sems: dict[str, threading.Semaphore] = {}

    def for_url(self, url: str) -> threading.Semaphore:
        host = urlsplit(url).netloc
        with self._lock:
            return self._sems.setdefault(host, threading.Semaphore(self.per_host))


def _total_from_headers(resp: requests.Response, offset: int) -> int | None:
    if resp.status_code == 206:
        rng = resp.headers.get("Content-Range", "")  # "bytes 100-999/1000"
        total = rng.rsplit("/", 1)[-1] if "/" in rng else ""
        return int(total) if total.isdigit() else None
    length = resp.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _fetch_once(session: requests.Session, item: DownloadItem, part: Path, settings: FetchSettings) -> int:
    """One attempt; returns the bytes resumed from an earlier partial file."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        resp = session.get(item.url, headers=headers, stream=True, timeout=settings.timeout_seconds)
    except requests.RequestException as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    with resp:
        code = resp.status_code
        if code == 416 and offset:  # our partial file is already whole (or longer than the file)
            part.unlink()
            raise TransientError("range not satisfiable; restarting from byte 0")
        if code in (408, 429) or code >= 500:
            raise TransientError(f"HTTP {code}")
        if code >= 400:
            raise PermanentError(f"HTTP {code} for {item.url}")
        resumed = offset if code == 206 else 0
        if code != 206:
            offset = 0  # the server ignored Range: start over
        total = _total_from_headers(resp, offset)
        try:
            with open(part, "ab" if offset else "wb") as fh:
                for block in resp.iter_content(CHUNK):
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
        except requests.RequestException as exc:  # dropped mid-body: keep the partial, resume later
            # (checked first: RequestException is an OSError subclass)
            raise TransientError(f"connection lost after {part.stat().st_size} bytes: {exc}") from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(str(exc)) from exc
            raise
    _verify(item, part, total)
    return resumed


def _verify(item: DownloadItem, part: Path, total: int | None) -> None:
    size = part.stat().st_size
    expected = item.size if item.size is not None else total
    if expected is not None and size != expected:
        if size > expected:
            part.unlink()
        raise TransientError(f"size {size} != expected {expected}")
    if item.sha256:
        digest = hashlib.sha256()
        with open(part, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != item.sha256.lower():
            part.unlink()
            raise TransientError(f"sha256 mismatch ({digest.hexdigest()[:12]}… != {item.sha256[:12]}…)")


def fetch_item(session: requests.Session, item: DownloadItem, inbox: Path, settings: FetchSettings,
               limiter: HostLimiter) -> tuple[int, int]:
    """Download one item into the inbox with retries. Returns (bytes, resumed_bytes)."""
    part = inbox / PARTIAL_DIR / f"{item.file_name}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    resumed = 0
    retrying = Retrying(
        stop=stop_after_attempt(settings.attempts),
        wait=wait_exponential_jitter(initial=settings.backoff_initial_seconds, max=settings.backoff_max_seconds),
        retry=retry_if_exception_type(TransientError),
        reraise=True,
    )
    for attempt in retrying:
        with attempt, limiter.for_url(item.url):
            resumed += _fetch_once(session, item, part, settings)
    final = inbox / item.file_name
    size = part.stat().st_size
    os.replace(part, final)  # atomic: the intake sensor never sees a half-written PDF
    return size, resumed


class SliceDownloader:
    """Downloads the items of one slice with a thread pool, stopping between files when told to."""

    def __init__(self, *, inbox: Path, ledger: DownloadLedger, settings: FetchSettings, workers: int,
                 should_pause: Callable[[], str], log: Callable[[str], None] = lambda m: None,
                 progress_every: int = 25, give_up_after_runs: int = 3):
        self.inbox, self.ledger, self.settings = Path(inbox), ledger, settings
        self.workers = max(1, workers)
        self.should_pause = should_pause  # returns a reason to stop, or ""
        self.log = log
        self.progress_every = progress_every
        self.give_up_after_runs = give_up_after_runs
        self._limiter = HostLimiter(settings.per_host_concurrency)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):  # requests sessions are not shared across threads
            self._local.session = requests.Session()
            self._local.session.headers["User-Agent"] = self.settings.user_agent
        return self._local.session

    def run(self, slice_key: str, items: list[DownloadItem], retry_failed: bool = False) -> SliceReport:
        report = SliceReport()
        started = time.monotonic()
        statuses = self.ledger.statuses([it.item_id for it in items])
        todo = []
        for item in items:
            status = statuses.get(item.item_id)
            if status == DONE or (status == FAILED and not retry_failed):
                report.already_done += 1
            else:
                todo.append(item)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="download") as pool:
            for _ in pool.map(lambda it: self._one(slice_key, it, report), todo):
                pass
        report.seconds = time.monotonic() - started
        return report

    def _one(self, slice_key: str, item: DownloadItem, report: SliceReport) -> None:
        if not self._stop.is_set():
            reason = self.should_pause()  # checked before every file: stop cleanly between files
            if reason:
                with self._lock:
                    report.paused_reason = report.paused_reason or reason
                self._stop.set()
        if self._stop.is_set():
            with self._lock:
                report.not_started += 1
            return
        final = self.inbox / item.file_name
        try:
            if final.exists() and (item.size is None or final.stat().st_size == item.size):
                size, resumed, adopted = final.stat().st_size, 0, True  # renamed, then crashed before ledger
            else:
                (size, resumed), adopted = fetch_item(self._session(), item, self.inbox, self.settings,
                                                      self._limiter), False
        except PermanentError as exc:
            self.ledger.record(item.item_id, FAILED, slice_key=slice_key, url=item.url, reason=str(exc))
            self._count_failure(report, item, str(exc), permanent=True)
            return
        except DiskFull as exc:
            with self._lock:
                report.not_started += 1
                report.paused_reason = report.paused_reason or f"disk full while writing: {exc}"
            self._stop.set()
            return
        except Exception as exc:  # retries exhausted (or unexpected): a re-run will try again
            reason = f"{type(exc).__name__}: {exc}"
            gave_up = self.ledger.record_transient(item.item_id, slice_key=slice_key, url=item.url,
                                                   reason=reason, give_up_after=self.give_up_after_runs)
            self._count_failure(report, item, reason, permanent=gave_up)
            return
        self.ledger.record(item.item_id, DONE, slice_key=slice_key, url=item.url,
                           file_name=item.file_name, size=size)
        with self._lock:
            report.adopted += adopted
            report.downloaded += not adopted
            report.bytes += size
            report.resumed_bytes += resumed
            done = report.downloaded + report.adopted
        if done % self.progress_every == 0:
            self.log(f"{slice_key}: {done} downloaded, {report.bytes / 1e6:.1f} MB")

    def _count_failure(self, report: SliceReport, item: DownloadItem, reason: str, *, permanent: bool) -> None:
        self.log(f"download failed ({'permanent' if permanent else 'transient'}): {item.item_id}: {reason}")
        with self._lock:
            if permanent:
                report.failed_permanent += 1
            else:
                report.failed_transient += 1
            report.failures[item.item_id] = reason
