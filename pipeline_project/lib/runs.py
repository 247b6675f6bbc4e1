"""Runs in flight: what a sensor asks before requesting more work, and the run keys that make a
repeated request harmless."""

from __future__ import annotations

import dagster as dg

PARTITION_TAG = "dagster/partition"
# Dagster's own IN_PROGRESS_RUN_STATUSES leaves out queued runs, which are exactly the ones a sensor
# must not request a second time.
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def in_flight(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str] | None = None) -> list[dg.DagsterRun]:
    """Queued, starting or running runs of `job_name` (optionally with these tags), and runs a stop
    interrupted whose resume is not queued yet: after an unclean stop the next start queues them once
    the UI answers, and a sensor ticking before that must not request the same partition again."""
    from pipeline_project.lib import resume

    active = list(instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=ACTIVE, tags=tags or {})))
    waiting = instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=resume.ENDED_BY_STOP,
                                              tags={**(tags or {}), resume.INTERRUPTED: list(resume.HOW)}))
    return active + [r for r in waiting if resume.RESUMED_AS not in r.tags]


def partitions_in_flight(instance: dg.DagsterInstance, job_name: str) -> set[str]:
    return {r.tags.get(PARTITION_TAG, "") for r in in_flight(instance, job_name)} - {""}


def finished_runs(instance: dg.DagsterInstance, job_name: str, partition_key: str) -> int:
    """How many runs of this partition have ended (any outcome)."""
    done = [s for s in dg.DagsterRunStatus if s not in ACTIVE]
    return instance.get_runs_count(dg.RunsFilter(job_name=job_name, statuses=done,
                                                 tags={PARTITION_TAG: partition_key}))


def attempt_run_key(instance: dg.DagsterInstance, job_name: str, partition_key: str) -> str:
    """A run key that stays the same while a partition's run is queued or running (so the next tick
    does not request it again) and changes once that run has ended (so it can be requested anew)."""
    return f"{partition_key}#{finished_runs(instance, job_name, partition_key)}"
