"""SlurmOcrEngine against the real local SLURM (scripts/slurm/up.sh): success, failure → dead
letters after retries, scancel, and accounting in metadata."""


import subprocess
import threading
import time

import dagster as dg
import pytest

from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine

from .conftest import PAYLOADS, mixed_inputs

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(300, method="thread")]


def run_probe(engine: SlurmOcrEngine, inputs, work_dir):
    """Call the engine from an asset, like the documents domain's ocr_jsonl does."""
    box = {}

    @dg.asset(name="ocr_probe")
    def ocr_probe(context: dg.AssetExecutionContext):
        result = engine.ocr_batch(context, "batch-test", inputs, work_dir)
        box["result"] = result
        return dg.MaterializeResult(metadata={k: v for k, v in result.metadata.items() if v is not None})

    with dg.instance_for_test() as instance:
        run = dg.materialize([ocr_probe], raise_on_error=False, instance=instance)
        box["logs"] = "\n".join(e.user_message for e in instance.all_logs(run.run_id))
    run.logs = box["logs"]  # everything the Dagster UI would show for the run
    return run, box.get("result")


def logs_of(run) -> str:
    return run.logs


def test_batch_runs_as_one_slurm_job(slurm_env, tmp_path):
    inputs = mixed_inputs(tmp_path / "pdfs", {"doc0": "SS", "doc1": "TS"})
    run, result = run_probe(SlurmOcrEngine.from_env(), inputs, tmp_path / "work")
    assert run.success
    assert not result.failures
    assert [r["metadata"]["doc_id"] for r in result.records] == [i.doc_id for i in inputs]
    assert "sheet 2 of doc1" in result.records[1]["text"]
    assert result.records[0]["attributes"]["page_methods"] == ["ocr"] * 2
    meta = result.metadata
    assert meta["slurm_outcome"] == "completed" and meta["pages_ocr"] == 3
    assert meta["slurm_state"] == "COMPLETED" and meta["slurm_exit_code"] == 0
    assert meta["slurm_job_id"] > 0 and "elapsed_seconds" in meta
    mat = run.get_asset_materialization_events()[0].materialization.metadata
    assert mat["slurm_state"].value == "COMPLETED"


def test_failing_job_is_retried_then_dead_lettered(slurm_env, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_SLURM_ATTEMPTS", "2")
    engine = SlurmOcrEngine.from_env().model_copy(update={"payload_path": str(PAYLOADS / "fails.py")})
    inputs = mixed_inputs(tmp_path / "pdfs", {"doc0": "S", "doc1": "TS"})
    run, result = run_probe(engine, inputs, tmp_path / "work")
    assert run.success  # the pipeline goes on; the documents become dead letters
    assert not result.records
    assert set(result.failures) == {i.doc_id for i in inputs}
    reason = next(iter(result.failures.values()))
    assert "gave up after 2 attempt(s)" in reason and "CUDA out of memory" in reason
    assert result.metadata["slurm_attempts"] == 2 and result.metadata["slurm_outcome"] == "failed"
    logs = logs_of(run)
    assert "attempt 1/2 failed" in logs and "attempt 2/2 failed" in logs
    assert "simulated OCR crash" in logs  # the job's error tail is in the Dagster log


def test_scancel_is_reported_as_cancelled(slurm_env, tmp_path):
    engine = SlurmOcrEngine.from_env().model_copy(update={"payload_path": str(PAYLOADS / "sleeps.py"),
                                                          "attempts": 2})
    inputs = mixed_inputs(tmp_path / "pdfs", {"doc0": "S"})
    cancelled = []

    def cancel_when_running():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not cancelled:
            out = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-n", "dagster_ocr_probe", "-o", "%i"],
                                 capture_output=True, text=True).stdout.split()
            if out:
                time.sleep(2)  # let Pipes attach first
                subprocess.run(["scancel", out[0]], check=True)
                cancelled.append(int(out[0]))
            time.sleep(0.5)

    killer = threading.Thread(target=cancel_when_running, daemon=True)
    killer.start()
    run, result = run_probe(engine, inputs, tmp_path / "work")
    killer.join(5)
    assert cancelled, "the job never reached RUNNING"
    assert run.success
    reason = result.failures[inputs[0].doc_id]
    assert "CANCELLED" in reason and f"job {cancelled[0]}" in reason
    assert result.metadata["slurm_attempts"] == 1  # a cancel is deliberate: not retried
