"""Fixtures for tests against the real local SLURM cluster (scripts/slurm/up.sh).

Every test here is marked `slurm` and skips with a clear reason when the cluster is not up. The
settings come from the env.sh that up.sh writes, exactly as a user would `source` it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pymupdf
import pytest

from pipeline_project.defs.documents.intake import sha256_file
from pipeline_project.defs.documents.ocr.base import OcrInput
from pipeline_project.samples.mixed_pdfs import mixed_pdf

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("PIPELINE_SLURM_STATE_DIR", PROJECT_ROOT / ".ci-state" / "slurm"))
PAYLOADS = Path(__file__).with_name("payloads")


def cluster_env() -> dict[str, str]:
    env = {}
    for line in (STATE_DIR / "env.sh").read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
    return env


def cluster_down_reason() -> str:
    if not (STATE_DIR / "env.sh").exists():
        return f"local SLURM cluster not set up ({STATE_DIR}/env.sh missing): run scripts/slurm/up.sh"
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"SLURM not available ({exc}): run scripts/slurm/up.sh"
    if proc.returncode != 0 or not proc.stdout.strip():
        return f"SLURM not up (sinfo: {proc.stderr.strip() or 'no nodes'}): run scripts/slurm/up.sh"
    pid_file = STATE_DIR / "sshd" / "sshd.pid"
    if not pid_file.exists() or not Path(f"/proc/{pid_file.read_text().strip()}").exists():
        return "the cluster's sshd is not running: run scripts/slurm/up.sh"
    return ""


@pytest.fixture
def slurm_env(monkeypatch) -> dict[str, str]:
    reason = cluster_down_reason()
    if reason:
        pytest.skip(reason)
    env = cluster_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PIPELINE_SLURM_GPUS", os.environ.get("PIPELINE_SLURM_GPUS", "1"))
    monkeypatch.setenv("PIPELINE_SLURM_RETRY_BACKOFF", "0")
    monkeypatch.setenv("PIPELINE_SLURM_TIME_LIMIT", "00:10:00")
    yield env
    # no job of ours may outlive the test (dagster-slurm ignores SIGTERM; be thorough)
    subprocess.run(["scancel", "--name", "dagster_ocr_probe"], capture_output=True, check=False)


def make_pdf(path: Path, pages: int, label: str) -> Path:
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page()
        page.insert_text((72, 72), f"{label} page {n + 1}: the quick brown fox jumps over the lazy dog.")
    doc.save(path)
    return path


def make_inputs(folder: Path, docs: int = 2, pages: int = 3) -> list[OcrInput]:
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for d in range(docs):
        pdf = make_pdf(folder / f"doc{d}.pdf", pages, f"document {d}")
        inputs.append(OcrInput(sha256_file(pdf), pdf, pdf.name, pages))
    return inputs


def mixed_inputs(folder: Path, layouts: dict[str, str]) -> list[OcrInput]:
    """One PDF per name, pages as the layout says: T = text layer, S = scanned picture of text."""
    inputs = []
    for n, (name, layout) in enumerate(layouts.items()):
        pdf = mixed_pdf(folder / f"{name}.pdf", layout, seed=n)
        inputs.append(OcrInput(sha256_file(pdf), pdf, pdf.name, len(layout)))
    return inputs
