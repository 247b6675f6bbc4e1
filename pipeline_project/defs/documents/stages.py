"""The work of each documents stage for one batch, as plain functions the assets call.

Each stage is idempotent: it records per-item decisions before acting on them, so a run killed at
any point and re-run finishes the same way without doing anything twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Callable

from pipeline_project.lib import quarantine
from pipeline_project.lib.atomic import read_json, write_json_atomic
from pipeline_project.defs.documents.batching import read_manifest
from pipeline_project.defs.documents.intake import inspect_pdf, sha256_file
from pipeline_project.defs.documents.ocr.base import OcrInput
from pipeline_project.defs.documents.olmocr_format import clean_text
from pipeline_project.lib.storage import StorageResource

DOMAIN = "documents"
ACCEPTED, DUPLICATE, QUARANTINED, MISSING = "accepted", "duplicate", "quarantined", "missing"


def store_path(storage: StorageResource, doc_id: str) -> Path:
    return storage.pdf_store / doc_id[:2] / f"{doc_id}.pdf"


def intake_batch(
    storage: StorageResource,
    batch_id: str,
    already_ingested: Callable[[list[str]], dict[str, str]],
) -> list[dict]:
    """Validate, id and file away every file of the batch. Returns one record per file.

    `already_ingested(doc_ids)` maps doc ids some *other* batch accepted to that batch's id."""
    batch_dir = storage.batches / batch_id
    manifest = read_manifest(batch_dir)
    records_dir = batch_dir / "intake"
    records: list[dict] = []
    fresh: list[dict] = []
    for entry in manifest["files"]:
        record = read_json(records_dir / f"{entry['slot']}.json")
        if record is None:
            record = _inspect(batch_dir / "incoming" / entry["slot"], entry)
            fresh.append(record)
        records.append(record)
    _mark_duplicates(fresh, records, already_ingested)
    for record in fresh:
        if record["status"] == ACCEPTED:
            record["stored_path"] = str(store_path(storage, record["doc_id"]))
        elif record["status"] == QUARANTINED:
            # keep the inbox sub-folders: two bad files may share a name
            record["stored_path"] = str(quarantine.destination(storage.root_path, DOMAIN, batch_id,
                                                               record["source_file"]))
        write_json_atomic(records_dir / f"{record['slot']}.json", record)
    for record in records:
        _file_away(storage, batch_id, batch_dir / "incoming" / record["slot"], record)
    return records


def _inspect(path: Path, entry: dict) -> dict:
    base = {"slot": entry["slot"], "source_file": clean_text(entry["path"]), "doc_id": None, "pages": 0,
            "bytes": entry["size"], "reason": "", "stored_path": None, "repaired": False,
            "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    if not path.exists():
        return dict(base, status=MISSING, reason="the file disappeared from the batch before intake")
    verdict = inspect_pdf(path)
    base.update(doc_id=sha256_file(path), bytes=path.stat().st_size, pages=verdict.pages,
                repaired=verdict.repaired)
    if not verdict.ok:
        return dict(base, status=QUARANTINED, reason=verdict.reason)
    return dict(base, status=ACCEPTED)


def _mark_duplicates(fresh: list[dict], records: list[dict], already_ingested) -> None:
    """Same bytes earlier in this batch, or accepted by another batch → duplicate, not processed again."""
    seen: dict[str, str] = {}
    fresh_ids = {id(r) for r in fresh}
    for record in records:
        if record["status"] == ACCEPTED and id(record) not in fresh_ids:
            seen[record["doc_id"]] = record["source_file"]
    candidates = [r["doc_id"] for r in fresh if r["status"] == ACCEPTED]
    elsewhere = already_ingested(candidates) if candidates else {}
    for record in fresh:
        if record["status"] != ACCEPTED:
            continue
        doc_id = record["doc_id"]
        if doc_id in elsewhere:
            record.update(status=DUPLICATE, reason=f"same content as a document of batch {elsewhere[doc_id]}")
        elif doc_id in seen:
            record.update(status=DUPLICATE, reason=f"same content as {seen[doc_id]} in this batch")
        else:
            seen[doc_id] = record["source_file"]


def _file_away(storage: StorageResource, batch_id: str, src: Path, record: dict) -> None:
    """Move the file where its record says (idempotent: does nothing once it is there)."""
    if not src.exists():
        return
    if record["status"] == DUPLICATE:
        src.unlink()  # identical bytes are already in the content-addressed store
        return
    if record["status"] == QUARANTINED:
        # the batch's incoming copy is the pipeline's own (moved out of the inbox): move it
        quarantine.quarantine_file(src, root=storage.root_path, domain=DOMAIN, group=batch_id,
                                   name=record["source_file"], reason=record["reason"],
                                   owner=quarantine.PIPELINE, item_id=f"{batch_id}/{record['slot']}")
        return
    dest = Path(record["stored_path"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        src.unlink()  # content-addressed: same name, same bytes
        return
    try:
        os.replace(src, dest)
    except OSError:
        shutil.move(str(src), str(dest))


def ocr_inputs(records: list[dict]) -> list[OcrInput]:
    return [
        OcrInput(doc_id=r["doc_id"], pdf_path=Path(r["stored_path"]), source_file=r["source_file"], pages=r["pages"])
        for r in records
        if r["status"] == ACCEPTED
    ]


def read_intake(storage: StorageResource, batch_id: str) -> list[dict]:
    batch_dir = storage.batches / batch_id
    manifest = read_manifest(batch_dir)
    records = [read_json(batch_dir / "intake" / f"{e['slot']}.json") for e in manifest["files"]]
    missing = [e["slot"] for e, r in zip(manifest["files"], records) if r is None]
    if missing:
        raise RuntimeError(f"batch {batch_id}: raw_pdfs has not recorded {len(missing)} files yet")
    return records


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
