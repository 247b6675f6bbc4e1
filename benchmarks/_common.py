"""Small helpers shared by the benchmark scripts: process-tree RSS sampling and corpus generation."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        if Path(f"/proc/{p}").exists():
            out.append(p)
            stack += _children(p)
    return out


def _status_kib(pid: int, field: str, file: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _label(pid: int) -> str:
    """A short name for a process of the tree: its command without paths, e.g. 'dagster api grpc'."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [Path(a.decode(errors="replace")).name for a in argv if a][:4]
    return " ".join(w for w in words if not w.startswith("-")) or "?"


def tree_processes(pid: int) -> list[tuple[str, int, int]]:
    """(label, RSS bytes, PSS bytes) of each process of the tree."""
    return [(_label(p), _status_kib(p, "VmRSS") * 1024, _status_kib(p, "Pss", "smaps_rollup") * 1024)
            for p in _tree(pid)]


def tree_rss_bytes(pid: int) -> int:
    """Sum of the RSS of a process and its descendants: pages shared between them (the same Python,
    Dagster and library code loaded by each) are counted once per process."""
    return sum(_status_kib(p, "VmRSS") for p in _tree(pid)) * 1024


class PeakRss:
    """Samples a process tree every `interval` seconds in a thread: `.peak` (summed RSS, bytes) and
    `.peak_pss` (summed PSS, bytes), the peaks of each; `.at_peak`, the tree's processes at the RSS peak."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak, self.peak_pss = pid, interval, 0, 0
        self.at_peak: list[tuple[str, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            processes = tree_processes(self.pid)
            rss = sum(r for _, r, _ in processes)
            if rss > self.peak:
                self.peak, self.at_peak = rss, processes
            self.peak_pss = max(self.peak_pss, sum(p for _, _, p in processes))
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def cpu_info() -> str:
    return f"{os.cpu_count()} cores"
