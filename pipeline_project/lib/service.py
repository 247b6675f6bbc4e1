"""`pipeline-project dev` as a service: start, watch, and stop the Dagster UI + daemon (`dg dev`) and
the project's web server, so that a stop takes seconds, leaves no process behind, and loses no work.

Stop (first SIGINT/SIGTERM/SIGHUP), within PIPELINE_STOP_GRACE_SECONDS (default 8) of the signal:
  1. the daemon first, so it neither starts queued runs nor retries the runs about to be interrupted;
  2. the runs in flight are named and tagged (lib/resume.py), then their workers — and the Tesseract,
     crawl or ssh processes they started — are interrupted, and killed if they linger;
  3. each interrupted run is queued again from where it stopped, through the still-running Dagster UI;
  4. everything else is stopped; whatever is left at the deadline is killed. Nothing of ours survives.
A second signal skips the waiting: everything is killed at once (the next start then does step 3).

Start: one supervisor per DAGSTER_HOME (a lock file); processes a killed supervisor left behind are
killed; runs it left "started" are marked for resuming; pending resumes are queued as soon as the
Dagster UI answers. If a child exits by itself, the rest is stopped and the exit status is 1, so a
service manager (docs/SERVICE.md) restarts the whole thing.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from pathlib import Path

from pipeline_project.lib import resume
from pipeline_project.lib.settings import UserError, env_float
from pipeline_project.lib.supervise import Supervisor, find, reap_leftovers, send, tree

DAEMON = ("dagster._daemon run", "dagster-daemon run")
DEV = "bin/dg dev"


class Service:
    def __init__(self, home: Path, dagster_url: str, log=None):
        self.home, self.dagster_url = Path(home), dagster_url
        self.log = log or (lambda text: print(text))
        self.signals = 0
        self.grace = env_float("PIPELINE_STOP_GRACE_SECONDS", 8.0)
        self._lock_file = None
        self._waiting: list = []
        self.supervisor: Supervisor | None = None

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Take this DAGSTER_HOME, clean up after an earlier unclean stop, catch stop signals."""
        self._lock()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        left = reap_leftovers(str(self.home))
        if left:
            self.log(f"stopped {left} process(es) an earlier, killed start had left running")
        self.supervisor = Supervisor(str(self.home))
        instance = self._instance()
        cut_off = resume.repair_unclean_stop(instance)
        if cut_off:
            self.log("runs cut off by an unclean stop: " + ", ".join(resume.describe(r) for r in cut_off))
        resume.finish_canceling(instance)
        self._waiting = resume.pending(instance)
        if self._waiting:
            self.log(f"{len(self._waiting)} interrupted run(s) will be queued again once the Dagster UI is up: "
                     + ", ".join(resume.describe(r) for r in self._waiting))

    def _lock(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.home / "supervisor.lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            other = self._lock_file.read().strip() or "?"
            raise UserError(f"another pipeline-project dev (pid {other}) is running on DAGSTER_HOME={self.home}; "
                            "stop it first (Ctrl-C in its terminal, or kill -TERM that pid)") from None
        self._lock_file.truncate(0)
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def _instance(self):
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.home))

    def _ui_up(self, deadline: float) -> bool:
        import httpx

        while time.monotonic() < deadline and not self.signals:
            try:
                if httpx.get(f"{self.dagster_url}/server_info", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(1)
        return False

    def _resume_when_up(self, runs) -> None:
        if not self._ui_up(time.monotonic() + 900):
            return
        for outcome in resume.resume_all(self._instance(), self.dagster_url, runs):
            self.log(f"resumed {resume.describe(outcome.run)}: "
                     + (f"queued as run {outcome.new_run_id[:8]}" if outcome.new_run_id else outcome.note))

    def _on_signal(self, signum, frame) -> None:
        self.signals += 1
        if self.signals == 1:
            self.log(f"\n{signal.Signals(signum).name}: stopping (press Ctrl-C again to stop at once)")
        else:
            self.log("stopping at once")

    @property
    def forced(self) -> bool:
        return self.signals > 1

    # -- run -----------------------------------------------------------------------------------
    def wait(self) -> int:
        """Until a stop signal (0) or a child exiting by itself (1). Call it once the children are
        started (no thread may run while they fork)."""
        if self._waiting:
            threading.Thread(target=self._resume_when_up, args=(self._waiting,), daemon=True).start()
        while not self.signals:
            ended = self.supervisor.exited()
            if ended:
                name, code = next(iter(ended.items()))
                self.log(f"{name} exited (status {code}); stopping the rest")
                return 1
            time.sleep(0.2)
        return 0

    # -- stop ----------------------------------------------------------------------------------
    def stop(self) -> list[resume.Outcome]:
        sup, t0 = self.supervisor, time.monotonic()
        at = lambda seconds: t0 + min(seconds, self.grace)  # noqa: E731 - a point in the grace period
        instance = self._instance()
        if self.forced:  # two signals before the stop began: kill first, record afterwards
            stuck = sup.kill_all()
            runs = resume.running(instance)
            resume.mark_interrupted(instance, runs)
            resume.mark_failed(instance, [r.run_id for r in runs])
            resume.finish_canceling(instance)
            for run in runs:
                self.log(f"  interrupted {resume.describe(run)}; the next start queues it again")
            self._report([], stuck, time.monotonic() - t0)
            return []

        # `dg dev` would tear the Dagster UI down the moment its daemon ends, and the UI is still needed
        # to queue the interrupted runs again: freeze it (SIGSTOP) until the final sweep. The daemon
        # is killed outright: a graceful stop waits for its threads for tens of seconds, and a kill
        # at any point is safe (storage writes are transactions; a half-done launch leaves a
        # "starting" run, which is handled below like any other run in flight).
        procs = sup.processes()
        send(find(procs, DEV), signal.SIGSTOP)
        daemons = tree(p.pid for p in find(procs, *DAEMON))
        send(daemons, signal.SIGKILL)
        sup.wait_gone(at(1.0), daemons)

        runs = resume.running(instance)
        resume.mark_interrupted(instance, runs)
        if runs:
            self.log(f"{len(runs)} run(s) in flight, interrupted now; they resume on the next start:")
            for run in runs:
                self.log(f"  {resume.describe(run)}")
        pids = [pid for pid in (resume.worker_pid(instance, r.run_id) for r in runs) if pid]
        workers = tree(pids)
        send([p for p in workers if p.pid in pids], signal.SIGINT)  # the worker records the interruption
        send([p for p in workers if p.pid not in pids], signal.SIGTERM)  # its helpers just end
        # A worker busy in C code (PyMuPDF, DuckDB) may not get to record the interruption soon; killing
        # it is safe (each stage's output is atomic, as the SIGKILL tests show) and we record it below.
        send(sup.wait_gone(at(3.0), workers, abort=lambda: self.forced), signal.SIGKILL)
        ended = resume.mark_failed(instance, [r.run_id for r in runs])
        outcomes = []
        if ended and not self.forced:
            timeout = max(1.0, at(self.grace - 1.0) - time.monotonic())
            outcomes = resume.resume_all(instance, self.dagster_url, ended, timeout=timeout, parallel=True)

        # The rest holds nothing worth waiting for: the frozen `dg dev` is killed, the UI, code servers
        # and the web server get a moment to close their sockets.
        procs = sup.processes()
        send(find(procs, DEV), signal.SIGKILL)
        send(procs, signal.SIGTERM)
        sup.wait_gone(min(at(self.grace - 0.3), time.monotonic() + 1.0), abort=lambda: self.forced)
        stuck = sup.kill_all()
        resume.finish_canceling(instance)
        self._report(outcomes, stuck, time.monotonic() - t0)
        return outcomes

    def _report(self, outcomes, stuck, seconds: float) -> None:
        for o in outcomes:
            self.log(f"  {resume.describe(o.run)}: "
                     + (f"queued again as run {o.new_run_id[:8]}" if o.new_run_id else
                        o.note if o.done else f"{o.note}; the next start queues it again"))
        if stuck:
            self.log(f"could not stop {len(stuck)} process(es): {[p.pid for p in stuck]}")
        else:
            self.log(f"stopped in {seconds:.1f}s; no process left running")
