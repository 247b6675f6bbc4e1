"""Submitting a comparison: the three ways in (inbox folder, CLI, API upload) end here.

The comparison id is derived from the two files' contents (sha256 of each, then of the pair), so the
same pair submitted twice — by any way in — is the same comparison and does no new work. The files
are placed under drawings/<job>/input/{old,new}.pdf: moved when the pipeline owns them (inbox,
uploads), copied when they are the user's own (a path given to the CLI). A row in
drawing_comparisons (status pending) is what the sensor turns into a run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.defs.drawings import tables
from pipeline_project.lib.hashing import sha256_file
from pipeline_project.lib.quarantine import PIPELINE, USER
from pipeline_project.lib.text import storable
from pipeline_project.lib.warehouse import connect

DOMAIN = "drawings"
PARTITIONS_NAME = "drawing_comparisons"
SIDES = ("old", "new")


def job_id_for(old_sha: str, new_sha: str) -> str:
    """Same two files in the same roles, same id (old/new swapped is another comparison)."""
    return hashlib.sha256(f"{old_sha}:{new_sha}".encode()).hexdigest()[:16]


def job_folder(root: Path, job_id: str) -> Path:
    return Path(root) / "drawings" / job_id


def input_path(root: Path, job_id: str, side: str) -> Path:
    return job_folder(root, job_id) / "input" / f"{side}.pdf"


@dataclass
class Submission:
    job_id: str
    created: bool  # False: this pair was submitted before (no new work)
    status: str
    name: str


def _place(source: Path, target: Path, owner: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.incoming")
    if owner == PIPELINE:
        try:
            os.replace(source, tmp)
        except OSError:  # another file system
            shutil.move(str(source), str(tmp))
    else:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def submit(root: Path, warehouse, old: Path, new: Path, *, name: str | None = None, source: str,
           owner: str, labels: tuple[str, str] | None = None, page_order: str | None = None,
           launching: bool = False) -> Submission:
    """Register a comparison of `old` and `new` (or find the one already registered).

    launching: the caller launches the run itself right after (launch.py); the comparison is marked so
    the sensor does not request a second one meanwhile."""
    if owner not in (PIPELINE, USER):
        raise ValueError(f"owner must be {PIPELINE!r} or {USER!r}")
    old, new = Path(old), Path(new)
    old_sha, new_sha = sha256_file(old), sha256_file(new)
    job_id = job_id_for(old_sha, new_sha)
    labels = labels or (old.name, new.name)
    tables.ensure_tables(warehouse)
    with connect(warehouse) as conn:
        existing = tables.comparison(conn, job_id)
    if existing is not None:
        if owner == PIPELINE:  # the pipeline's duplicate copies are not needed
            for path in (old, new):
                path.unlink(missing_ok=True)
        return Submission(job_id, False, existing["status"], existing["name"])
    for side, path in zip(SIDES, (old, new)):
        _place(path, input_path(root, job_id, side), owner)
    display = storable(name or f"{labels[0]} → {labels[1]}")[:200]
    row = {"job_id": job_id, "name": display, "old_sha256": old_sha, "new_sha256": new_sha,
           "old_file": str(input_path(root, job_id, "old")), "new_file": str(input_path(root, job_id, "new")),
           "old_label": storable(labels[0]), "new_label": storable(labels[1]),
           "old_source": str(old.resolve()) if owner == USER else None,
           "new_source": str(new.resolve()) if owner == USER else None,
           "source": source, "owner": owner, "status": "pending", "submitted_at": tables.now(),
           "page_order": page_order, "launched_at": tables.now() if launching else None}
    with connect(warehouse) as conn:
        tables.upsert_comparison(conn, row)
    return Submission(job_id, True, "pending", display)


def register_partition(instance, job_id: str) -> None:
    """Make the comparison a partition of `drawing_comparisons` in the Dagster instance (idempotent)."""
    if not instance.has_dynamic_partition(PARTITIONS_NAME, job_id):
        instance.add_dynamic_partitions(PARTITIONS_NAME, [job_id])
