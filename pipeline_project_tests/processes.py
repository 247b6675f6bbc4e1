"""Process helpers the tests share."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

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


@contextlib.contextmanager
def running_daemon(data: Path, env: dict) -> Iterator[subprocess.Popen]:
    """The real `dagster-daemon` on the project's workspace, logging to data/daemon.log; stopped by PID
    with its run workers (its own process group), then whatever of this instance outlived it."""
    from pipeline_project_tests.conftest import PROJECT_ROOT

    with open(data / "daemon.log", "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            kill_by_dagster_home(env["DAGSTER_HOME"])
