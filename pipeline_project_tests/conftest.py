"""Shared fixtures: every test gets its own storage root and DuckDB file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import warehouse_from_path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(root))
    return root


@pytest.fixture
def storage(data_dir) -> StorageResource:
    return StorageResource(root=str(data_dir))


@pytest.fixture
def warehouse(storage):
    return warehouse_from_path(str(storage.warehouse_path))


@pytest.fixture
def resources(storage, warehouse) -> dict:
    return {
        "storage": storage,
        "warehouse": warehouse,
        "ocr_engine": LocalOcrEngine(),
        "embedder": EmbedderResource(),
    }


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def age(paths, seconds: float = 5.0) -> None:
    """Make files look as if they arrived `seconds` ago (the batcher skips files still being copied)."""
    stamp = time.time() - seconds
    for path in paths:
        os.utime(path, (stamp, stamp))
