"""The code location as Dagster and `dg` see it: the defs/ layout loads, validates and lists."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline_project_tests.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent
ROLES = ("assets", "partitions", "sensors", "checks", "resources", "jobs", "cli")


def _dg(*argv, env=None):
    env = dict(os.environ, VIRTUAL_ENV=sys.prefix, **(env or {}))
    return subprocess.run([str(BIN / "dg"), *argv], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env)


def test_dagster_validates_the_workspace(data_dir):
    proc = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Validation successful for code location pipeline_project" in proc.stdout + proc.stderr


def test_dg_checks_and_lists_the_defs_folder(data_dir):
    check = _dg("check", "defs")
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "All definitions loaded successfully" in check.stdout + check.stderr
    listed = _dg("list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    defs = json.loads(listed.stdout)
    assets = {a["asset_key"] for a in defs["assets"]}
    assert {"raw_pdfs", "ocr_jsonl", "documents", "chunks", "embeddings", "downloaded_pdfs"} <= assets
    # every asset says what it does in the product's words
    assert all(a["description"] and "seed" not in a["description"] for a in defs["assets"])


def test_every_domain_has_the_same_files_for_the_same_roles():
    for domain in ("documents", "ingest", "observations"):
        folder = PROJECT_ROOT / "pipeline_project" / "defs" / domain
        missing = [role for role in ROLES if not (folder / f"{role}.py").exists()]
        assert not missing, f"{domain} lacks {missing}"


def test_documents_pipeline_runs_with_no_clicks(data_dir):
    from pipeline_project.definitions import build_definitions

    defs = build_definitions()
    sensors = {s.name: s for s in defs.sensors}
    for name in ("ocr_batch_sensor", "documents_automation_sensor"):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
    job = defs.resolve_job_def("documents_job")
    assert {k.path[-1] for k in job.asset_layer.executable_asset_keys} == {
        "raw_pdfs", "ocr_jsonl", "documents", "chunks", "embeddings"}


def test_shared_resources_are_one_object_under_one_key(data_dir):
    from pipeline_project.definitions import build_definitions

    resources = build_definitions().resources
    assert resources["downloader"].storage is resources["storage"]
    assert resources["downloader"].warehouse is resources["warehouse"]
    assert resources["observations_store"].warehouse is resources["warehouse"]
    from dagster_duckdb import DuckDBResource

    assert isinstance(resources["warehouse"], DuckDBResource)
