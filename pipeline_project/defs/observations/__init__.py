"""Observations: MATLAB sensor recordings -> weekly partitions -> typology, classification,
manifest, manifold and DuckDB SQL. See docs/OBSERVATIONS.md."""
