"""pipeline_project: a Dagster code location for continuously arriving files."""
