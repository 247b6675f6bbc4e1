"""The comparison job: one drawing comparison (partition) per run."""

import dagster as dg

from pipeline_project.defs.drawings.partitions import drawing_comparisons

drawings_comparison_job = dg.define_asset_job(
    "drawings_comparison_job", selection=dg.AssetSelection.groups("drawings"), partitions_def=drawing_comparisons,
    description="Compares the old and new drawing set of one comparison, page by page.",
    # one step: running it in the run's own process saves a second process start and code load
    # (seconds before the first overlay)
    executor_def=dg.in_process_executor,
)


def rerun_target(partition_key: str) -> tuple[str, str]:
    """What `pipeline-project retry` runs to redo a comparison (pages already done are skipped)."""
    return drawings_comparison_job.name, partition_key
