"""Process supervision for `pipeline-project dev`: start children, find every process they started,
and stop them all — politely first, by force at a deadline.

Why not just forward the signal: Dagster's processes (webserver, code server, gRPC server, daemon,
run workers and the Tesseract, crawl or ssh processes a run starts) each handle an interrupt on their
own schedule; measured here, `dg dev` took ~40 s to be gone after Ctrl-C, and helpers outlived it. So:

- Every child starts in its own session, so a terminal's Ctrl-C (SIGINT to the foreground process
  group) reaches only the supervisor, which then stops things in an order that keeps runs resumable
  (see lib/resume.py and cli.py's dev).
- Every process started under the supervisor carries one environment variable (MARKER, value
  "<scope>|<supervisor pid>") that its own children inherit. A process that escaped the tree (a
  daemonized ssh master, a run worker re-parented to init) is still found by it.
- The direct children get PR_SET_PDEATHSIG: if the supervisor itself is killed (SIGKILL, OOM), the
  kernel sends them SIGTERM. What survives even that is found at the next start by `reap_leftovers`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable

import psutil

MARKER = "PIPELINE_SUPERVISOR"
_PR_SET_PDEATHSIG = 1


def _load_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()  # looked up once here: between fork and exec only the call itself may run


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _marker(proc: psutil.Process) -> str | None:
    try:
        return proc.environ().get(MARKER)
    except (psutil.Error, OSError):
        return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def send(procs: Iterable[psutil.Process], sig: int) -> None:
    for proc in procs:
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass


class Supervisor:
    """Children of one supervising process, for one scope (the DAGSTER_HOME it runs)."""

    def __init__(self, scope: str):
        self.scope = scope
        self.token = f"{scope}|{os.getpid()}"
        self.children: dict[str, subprocess.Popen] = {}
        self._seen: dict[int, psutil.Process] = {}
        # Processes this process starts itself (e.g. a code server for a workspace) carry it too.
        os.environ[MARKER] = self.token

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
        child_env = dict(os.environ if env is None else env, **{MARKER: self.token})
        proc = subprocess.Popen(argv, env=child_env, start_new_session=True, preexec_fn=_die_with_parent, **popen)
        self.children[name] = proc
        return proc

    def exited(self) -> dict[str, int]:
        """Children that have ended, with their exit status."""
        return {name: p.returncode for name, p in self.children.items() if p.poll() is not None}

    def processes(self) -> list[psutil.Process]:
        """Every live process started under this supervisor: the children's trees, and anything
        carrying our marker (found anew on every call: processes come and go while stopping)."""
        found: dict[int, psutil.Process] = {}
        for child in self.children.values():
            try:
                root = psutil.Process(child.pid)
                for proc in [root, *root.children(recursive=True)]:
                    found[proc.pid] = proc
            except psutil.Error:
                pass
        for proc in psutil.process_iter():
            if proc.pid != os.getpid() and proc.pid not in found and _marker(proc) == self.token:
                found[proc.pid] = proc
        self._seen.update(found)
        return [p for p in found.values() if _alive(p)]

    def signal_all(self, sig: int, procs: Iterable[psutil.Process] | None = None) -> None:
        send(self.processes() if procs is None else procs, sig)

    def wait_gone(self, deadline: float, procs: list[psutil.Process] | None = None, *,
                  abort=lambda: False) -> list[psutil.Process]:
        """Wait until the processes (default: all of ours) have ended, or the deadline passes, or
        abort() says stop waiting; returns those still alive."""
        while True:
            alive = [p for p in (self.processes() if procs is None else procs) if _alive(p)]
            if not alive or time.monotonic() >= deadline or abort():
                return alive
            time.sleep(0.1)

    def kill_all(self, timeout: float = 3.0) -> list[psutil.Process]:
        """SIGKILL every process of ours until none is left (a dying parent may still fork);
        returns any that would not go (uninterruptible sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.processes() + [p for p in self._seen.values() if _alive(p)]
            if not alive:
                break
            send(alive, signal.SIGKILL)
            if time.monotonic() >= deadline:
                return [p for p in alive if _alive(p)]
            time.sleep(0.05)
        for child in self.children.values():
            try:
                child.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        return []


def leftovers(scope: str) -> list[psutil.Process]:
    """Processes of an earlier supervisor of this scope that outlived it (it was killed outright)."""
    mine = os.environ.get(MARKER)
    found = []
    for proc in psutil.process_iter():
        marker = _marker(proc)
        if marker and marker != mine and proc.pid != os.getpid() and marker.rpartition("|")[0] == scope:
            if not _supervisor_alive(int(marker.rpartition("|")[2] or 0)):
                found.append(proc)
    return [p for p in found if _alive(p)]


def _supervisor_alive(pid: int) -> bool:
    try:
        return "pipeline" in " ".join(psutil.Process(pid).cmdline())  # not a re-used pid
    except psutil.Error:
        return False


def reap_leftovers(scope: str) -> int:
    """Kill what an earlier, killed supervisor of this scope left behind; returns how many."""
    procs = leftovers(scope)
    send(procs, signal.SIGKILL)
    psutil.wait_procs(procs, timeout=3)
    return len(procs)


def find(procs: Iterable[psutil.Process], *needles: str) -> list[psutil.Process]:
    """The processes whose command line contains any of the needles."""
    out = []
    for proc in procs:
        try:
            line = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if any(n in line for n in needles):
            out.append(proc)
    return out


def tree(pids: Iterable[int]) -> list[psutil.Process]:
    """These processes and all their descendants (those still alive)."""
    out: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                out[proc.pid] = proc
        except psutil.Error:
            pass
    return [p for p in out.values() if _alive(p)]
