"""Process everything waiting in the inbox through every stage, in this process (no daemon).

For scripts, CI and the quickstart. Uses the same batching, assets and instance as the daemon, so
the UI shows what drain did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg

from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.documents.sensors import batch_policy, cut_batches


@dataclass
class DrainReport:
    batches: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def unfinished_batches(instance: dg.DagsterInstance) -> list[str]:
    """Registered batches whose embeddings were never materialized (e.g. a killed run)."""
    registered = instance.get_dynamic_partitions(ocr_batches.name)
    done = instance.get_materialized_partitions(dg.AssetKey("embeddings"))
    return [b for b in registered if b not in done]


def drain(instance: dg.DagsterInstance, resources: dict, log=print, log_level: str = "WARNING") -> DrainReport:
    started = time.monotonic()
    report = DrainReport()
    storage = resources["storage"]
    new_ids, _, _ = cut_batches(instance, storage, None, batch_policy(), force=True)
    if new_ids:
        instance.add_dynamic_partitions(ocr_batches.name, new_ids)
    todo = sorted(set(unfinished_batches(instance)) | set(new_ids))
    for batch_id in todo:
        log(f"batch {batch_id}: running raw_pdfs → ocr_jsonl → documents → chunks → embeddings")
        result = dg.materialize(documents_assets, partition_key=batch_id, resources=resources,
                                instance=instance, raise_on_error=False, tags={"ocr_batch": batch_id},
                                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
        (report.batches if result.success else report.failed).append(batch_id)
    report.seconds = time.monotonic() - started
    return report
