"""Bookkeeping of interrupted runs (lib/resume.py) on a real Dagster instance: which runs wait for a
resume, that each is resumed once, and that resumes do not use up retries. The whole path with the
real daemon and UI is in pipeline_project_tests/e2e/test_service_stop.py."""

import uuid

import dagster as dg
import pytest
from dagster._core.storage.tags import MAX_RETRIES_TAG, PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG

from pipeline_project.lib import resume
from pipeline_project.lib.home import EMBEDDING_POOL


@pytest.fixture
def instance():
    with dg.instance_for_test(overrides={"run_retries": {"enabled": True, "max_retries": 2}}) as inst:
        yield inst


def add_run(instance, status, **tags) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name="documents_job", run_id=str(uuid.uuid4()), status=status,
                        tags={"dagster/partition": "batch-1", **tags})
    instance.add_run(run)
    return instance.get_run_by_id(run.run_id)


def test_an_interrupted_run_waits_for_its_resume_and_is_kept_from_daemon_retries(instance):
    run = add_run(instance, dg.DagsterRunStatus.STARTED)
    resume.mark_interrupted(instance, [run])
    tagged = instance.get_run_by_id(run.run_id)
    assert tagged.tags[resume.INTERRUPTED] == "stop" and tagged.tags[MAX_RETRIES_TAG] == "0"
    assert resume.pending(instance) == []  # still "started": its worker may yet record the end

    (ended,) = resume.mark_failed(instance, [run.run_id])
    assert ended.status == dg.DagsterRunStatus.FAILURE
    assert ended.tags.get("dagster/will_retry") == "false"  # the daemon leaves it to the resume
    assert [r.run_id for r in resume.pending(instance)] == [run.run_id]
    assert resume._retry_budget(instance, ended) == "3"  # the configured 2, plus this resume


def test_a_stopped_run_gives_back_the_embedding_slot_it_held_or_waited_for(instance):
    """Otherwise the slot stays with the dead run (or is handed to its waiting step when it comes free)
    and every later embeddings step, the resumed run's included, waits for it forever."""
    storage = instance.event_log_storage
    storage.set_concurrency_slots(EMBEDDING_POOL, 1)
    holder, waiter, resumed = (add_run(instance, dg.DagsterRunStatus.STARTED) for _ in range(3))
    assert storage.claim_concurrency_slot(EMBEDDING_POOL, holder.run_id, "embeddings").is_claimed
    assert not storage.claim_concurrency_slot(EMBEDDING_POOL, waiter.run_id, "embeddings").is_claimed

    resume.mark_interrupted(instance, [holder, waiter])
    resume.mark_failed(instance, [holder.run_id, waiter.run_id])

    info = storage.get_concurrency_info(EMBEDDING_POOL)
    assert info.claimed_slots == [] and info.pending_steps == []
    assert storage.claim_concurrency_slot(EMBEDDING_POOL, resumed.run_id, "embeddings").is_claimed


def test_a_run_re_executed_already_is_not_resumed_again(instance):
    run = add_run(instance, dg.DagsterRunStatus.FAILURE, **{resume.INTERRUPTED: "stop"})
    add_run(instance, dg.DagsterRunStatus.SUCCESS, **{PARENT_RUN_ID_TAG: run.run_id, ROOT_RUN_ID_TAG: run.run_id})
    outcome = resume.resume_one(instance, run, "http://127.0.0.1:9")  # no UI is asked
    assert outcome.done and "already re-executed" in outcome.note
    assert resume.pending(instance) == []


def test_a_re_execution_created_but_never_queued_is_replaced(instance):
    run = add_run(instance, dg.DagsterRunStatus.FAILURE, **{resume.INTERRUPTED: "stop"})
    stray = add_run(instance, dg.DagsterRunStatus.NOT_STARTED,
                    **{PARENT_RUN_ID_TAG: run.run_id, ROOT_RUN_ID_TAG: run.run_id})
    outcome = resume.resume_one(instance, run, "http://127.0.0.1:9", timeout=2)  # nothing listens there
    assert not outcome.done and "did not answer" in outcome.note
    assert instance.get_run_by_id(stray.run_id) is None
    assert [r.run_id for r in resume.pending(instance)] == [run.run_id]  # tried again at the next start


def test_runs_of_other_commands_and_runs_being_canceled_are_not_resumed(instance):
    add_run(instance, dg.DagsterRunStatus.STARTED)  # e.g. `pipeline-project drain`: no run launcher origin
    assert resume.running(instance) == []
    assert resume.repair_unclean_stop(instance) == []
    add_run(instance, dg.DagsterRunStatus.FAILURE)  # a real failure: the daemon's retries handle it
    assert resume.pending(instance) == []
