"""The code location as Dagster sees it."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline_project_tests.conftest import PROJECT_ROOT


def test_dagster_validates_the_workspace(data_dir):
    proc = subprocess.run([str(Path(sys.executable).with_name("dagster")), "definitions", "validate",
                           "-w", "workspace.yaml"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Validation successful for code location pipeline_project" in proc.stdout + proc.stderr


def test_documents_pipeline_runs_with_no_clicks(data_dir):
    from pipeline_project.definitions import defs

    sensors = {s.name: s for s in defs.sensors}
    for name in ("ocr_batch_sensor", "documents_automation_sensor"):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
    job = defs.resolve_job_def("documents_job")
    assert {k.path[-1] for k in job.asset_layer.executable_asset_keys} == {
        "raw_pdfs", "ocr_jsonl", "documents", "chunks", "embeddings"}
