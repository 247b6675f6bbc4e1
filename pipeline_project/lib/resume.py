"""Runs interrupted by a stop resume by themselves, exactly once.

When `pipeline-project dev` stops (Ctrl-C, SIGTERM, a reboot), every run in flight is interrupted.
Each of those runs is:

1. tagged `pipeline_project/interrupted` before its worker is stopped, with `dagster/max_retries`
   set to 0 for it, so the daemon's own run retries do not also re-execute it (that would run the
   partition twice);
2. marked failed once its worker is gone, if the worker could not say so itself;
3. re-executed from where it stopped (Dagster's "from failure" re-execution: steps that finished are
   not run again, every stage is idempotent so a step cut off mid-write is simply redone) through
   the Dagster UI's GraphQL API while it is still up — the new run is QUEUED, so it starts with the
   next start, before any sensor can request the same partition (sensors see queued runs as in
   flight). The interrupted run is then tagged `pipeline_project/resumed_as` with the new run's id,
   and the new run carries `pipeline_project/resumes` with the old one's.

If the stop was too abrupt for step 3 (a second Ctrl-C, SIGKILL, power loss), the next start does it
as soon as its Dagster UI answers; runs that a killed process left "started" are found then as well
(their worker is gone) and handled the same way (`pipeline_project/interrupted` = "unclean stop").

The re-execution gets the retry budget back (its `dagster/max_retries` is the configured one plus the
resumes so far), so stopping the pipeline never uses up a run's retries for real failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dagster as dg
import psutil
from dagster._core.storage.tags import MAX_RETRIES_TAG, PARENT_RUN_ID_TAG  # stable names of run tags

INTERRUPTED = "pipeline_project/interrupted"  # "stop" | "unclean stop" (on a resumed run: "no")
RESUMED_AS = "pipeline_project/resumed_as"  # the re-execution's run id, or why none was needed
RESUMES = "pipeline_project/resumes"  # on the re-execution: the interrupted run's id
MAX_RETRIES_BEFORE = "pipeline_project/max_retries_before_stop"
HOW = ("stop", "unclean stop")
PARTITION_TAG = "dagster/partition"

# Runs with a worker process. Queued runs only wait in the queue: they run normally after a restart.
# Runs being canceled (CANCELING) were meant to stop: they are marked canceled, not resumed.
RUNNING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
ENDED_BY_STOP = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def describe(run: dg.DagsterRun) -> str:
    partition = run.tags.get(PARTITION_TAG)
    return f"{run.job_name}" + (f" partition {partition}" if partition else "") + f" (run {run.run_id[:8]})"


def running(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs with a worker started by the run launcher (the daemon's queue or the UI). Runs executed
    inside another command (`pipeline-project drain`, `retry`) have no launcher origin and are not ours."""
    return [r for r in instance.get_runs(dg.RunsFilter(statuses=RUNNING)) if r.remote_job_origin is not None]


def mark_interrupted(instance: dg.DagsterInstance, runs: list[dg.DagsterRun], how: str = "stop") -> None:
    """Before the workers stop: these runs are resumed by us, not retried by the daemon."""
    for run in runs:
        before = run.tags.get(MAX_RETRIES_BEFORE) or run.tags.get(MAX_RETRIES_TAG, "")
        instance.add_run_tags(run.run_id, {INTERRUPTED: how, MAX_RETRIES_BEFORE: before, MAX_RETRIES_TAG: "0"})


def mark_failed(instance: dg.DagsterInstance, run_ids: list[str]) -> list[dg.DagsterRun]:
    """After the workers are gone: a run whose worker was killed before it could record the end
    is marked failed here (its status would otherwise say "started" forever)."""
    out = []
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in RUNNING:
            instance.report_run_failed(run, "Interrupted: the pipeline was stopped while this run was in "
                                            "flight. It resumes from here on the next start.")
        free_pool_slots(instance, run_id)
        out.append(instance.get_run_by_id(run_id) or run)
    return out


def free_pool_slots(instance: dg.DagsterInstance, run_id: str) -> None:
    """Give back the pool slots (e.g. the embedding model's) a run whose worker is gone held or waited
    for: otherwise the slot stays taken, or is handed to the dead run's waiting step, and the resumed
    run waits for it forever."""
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def finish_canceling(instance: dg.DagsterInstance) -> None:
    """Runs a person asked to stop whose worker is gone now: they are canceled, as asked."""
    for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.CANCELING])):
        if run.remote_job_origin is not None:  # launched by our daemon or UI, so its worker was ours
                instance.report_run_canceled(run, "Canceled: its worker stopped with the pipeline.")


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from the engine event its code server records when it starts the run."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records
    for record in records:
        found = re.search(r"Started process for run \(pid: (\d+)\)", record.event_log_entry.message or "")
        if found:
            return int(found.group(1))
    return None


def repair_unclean_stop(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """At start (with this instance's supervisor lock held and leftovers reaped): runs still
    "started" whose worker is gone were cut off by an unclean stop; mark them for resuming.
    Runs executed in some other process (no run launcher origin) or with a live worker are left alone."""
    orphans = []
    for run in running(instance):
        pid = worker_pid(instance, run.run_id)
        if pid is not None and psutil.pid_exists(pid):
            continue
        orphans.append(run)
    mark_interrupted(instance, orphans, how="unclean stop")
    return mark_failed(instance, [r.run_id for r in orphans])


def pending(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Interrupted runs not resumed yet, oldest first."""
    runs = instance.get_runs(dg.RunsFilter(tags={INTERRUPTED: list(HOW)}, statuses=ENDED_BY_STOP))
    return list(reversed([r for r in runs if RESUMED_AS not in r.tags]))  # get_runs gives newest first


@dataclass
class Outcome:
    run: dg.DagsterRun
    new_run_id: str | None = None  # the queued re-execution
    note: str = ""  # why none was launched (already re-run, nothing left, or the error)

    @property
    def done(self) -> bool:
        return bool(self.new_run_id) or self.note.startswith(("already", "nothing"))


REEXECUTE = """
mutation Resume($parentRunId: String!, $extraTags: [ExecutionTag!]) {
  launchRunReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: FROM_FAILURE,
                                           extraTags: $extraTags, useParentRunTags: true}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}"""


def _retry_budget(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The configured max_retries plus one per resume in this run's group (resumes are not failures)."""
    base = run.tags.get(MAX_RETRIES_BEFORE) or str(instance.run_retries_max_retries)
    group = instance.get_run_group(run.run_id)
    resumes = sum(1 for r in (group[1] if group else []) if RESUMES in r.tags) + 1
    return str(int(base) + resumes) if base.isdigit() else base


def _existing_child(instance: dg.DagsterInstance, run: dg.DagsterRun, clear_unqueued: bool = True) -> Outcome | None:
    """A re-execution of this run that exists already (queued by a slow UI after we stopped waiting,
    by a person, or by the daemon): it counts as the resume. One the UI created but never queued
    (it was stopped in between) is deleted, so a new one is queued instead."""
    for child in instance.get_runs(dg.RunsFilter(tags={PARENT_RUN_ID_TAG: run.run_id})):
        if child.status == dg.DagsterRunStatus.NOT_STARTED:
            if clear_unqueued:
                instance.delete_run(child.run_id)
            continue
        instance.add_run_tags(run.run_id, {RESUMED_AS: child.run_id})
        if child.tags.get(RESUMES) == run.run_id:
            return Outcome(run, new_run_id=child.run_id)
        return Outcome(run, note=f"already re-executed as run {child.run_id[:8]}")
    return None


def resume_one(instance: dg.DagsterInstance, run: dg.DagsterRun, dagster_url: str,
               timeout: float = 10.0) -> Outcome:
    import httpx

    done = _existing_child(instance, run)
    if done is not None:
        return done
    budget = _retry_budget(instance, run)
    tags = {RESUMES: run.run_id, INTERRUPTED: "no", MAX_RETRIES_TAG: budget, MAX_RETRIES_BEFORE: budget}
    variables = {"parentRunId": run.run_id, "extraTags": [{"key": k, "value": v} for k, v in tags.items()]}
    try:
        reply = httpx.post(f"{dagster_url.rstrip('/')}/graphql", json={"query": REEXECUTE, "variables": variables},
                           timeout=timeout)
        reply.raise_for_status()
        result = (reply.json().get("data") or {}).get("launchRunReexecution") or {}
    except (httpx.HTTPError, ValueError) as exc:
        # a slow UI may have queued it all the same after we stopped waiting
        return _existing_child(instance, run, clear_unqueued=False) or Outcome(
            run, note=f"the Dagster UI did not answer ({type(exc).__name__}: {exc})")
    if result.get("__typename") == "LaunchRunSuccess":
        new_id = result["run"]["runId"]
        instance.add_run_tags(run.run_id, {RESUMED_AS: new_id})
        instance.report_engine_event(f"Resumed as run {new_id} (interrupted when the pipeline stopped)", run)
        return Outcome(run, new_run_id=new_id)
    message = result.get("message") or str(reply.json().get("errors") or result)[:300]
    if "No steps needed to be retried" in message:  # every step had finished when the worker stopped
        instance.add_run_tags(run.run_id, {RESUMED_AS: "nothing left to run"})
        return Outcome(run, note="nothing left to run: every step had finished")
    return Outcome(run, note=f"the Dagster UI refused the re-execution: {message}")


def resume_all(instance: dg.DagsterInstance, dagster_url: str, runs: list[dg.DagsterRun] | None = None,
               timeout: float = 10.0, parallel: bool = False) -> list[Outcome]:
    """Queue a re-execution of each run (default: every pending one); parallel=True asks the UI for
    all at once (a stop has seconds, and the UI plans each re-execution on its code server)."""
    runs = pending(instance) if runs is None else runs
    if not parallel or len(runs) < 2:
        return [resume_one(instance, run, dagster_url, timeout) for run in runs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(runs)) as pool:
        return list(pool.map(lambda run: resume_one(instance, run, dagster_url, timeout), runs))
