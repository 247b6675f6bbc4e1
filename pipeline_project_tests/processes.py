"""Process helpers the tests share."""

from __future__ import annotations

import os

import psutil


def kill_by_dagster_home(home: str | os.PathLike) -> list[int]:
    """SIGKILL every process of this test's Dagster instance that outlived its daemon. A code server a
    daemon started keeps running when it misses the daemon's SIGTERM (it runs in its own session); it is
    found by the DAGSTER_HOME in its environment, which only this test's processes carry."""
    home = str(home)
    killed = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get("DAGSTER_HOME") == home:
                proc.kill()
                killed.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return killed
