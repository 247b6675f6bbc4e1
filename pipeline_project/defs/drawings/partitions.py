"""One drawing comparison = one partition; its key is derived from the two files' contents
(submissions.job_id_for), so the same pair is the same partition."""

import dagster as dg

from pipeline_project.defs.drawings.submissions import PARTITIONS_NAME

drawing_comparisons = dg.DynamicPartitionsDefinition(name=PARTITIONS_NAME)
