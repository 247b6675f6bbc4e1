"""Fixtures: a private storage root, a dataset config, generated recordings over 3 weeks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline_project.defs.observations.config import load_config
from pipeline_project.samples.matfiles import make_dataset

WEEKS = ["2023-01-02", "2023-01-09", "2023-01-16"]


@pytest.fixture
def obs_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(root))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PIPELINE_OBSERVATIONS_CONFIGS", str(root / "observations" / "datasets"))
    return root


def write_config(root: Path, name: str = "demo", **overrides) -> Path:
    doc = {
        "paths": {"raw_dir": f"raw/{name}", "output_dir": f"observations/{name}"},
        "partitioning": {"start": "2022-12-26", "files_per_flush": 1},
        "compute": {"overlap_samples": 300, "window_samples": 64, "window_step": 32},
    }
    for section, values in overrides.items():
        doc.setdefault(section, {}).update(values)
    path = root / "observations" / "datasets" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def config_path(obs_root) -> Path:
    return write_config(obs_root)


@pytest.fixture
def dataset(obs_root, config_path):
    """(config, raw files): 3 weeks x 2 files (v5 and v7.3), 3 signals of 600 samples each."""
    config = load_config(config_path)
    files = make_dataset(config.raw_dir, weeks=3, files_per_week=2, n=600)
    return config, files
