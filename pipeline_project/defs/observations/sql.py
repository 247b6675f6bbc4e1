"""SQL analysis with DuckDB: per-week markdown reports, and per-dataset views over all weeks.

Reports run in an in-memory DuckDB over the week's Parquet files (no lock contention between
weeks running in parallel). The dataset's DuckDB file (<output_dir>/<dataset>.duckdb) holds
only views over the Parquet globs, so it never goes stale and never copies data; it is
rewritten with CREATE OR REPLACE through the lock-aware `connect`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline_project.lib.warehouse import connect, warehouse_from_path

VIEW_FILES = {
    "observations": "observations.parquet",
    "typology_raw": "typology_raw.parquet",
    "typology": "typology.parquet",
    "state_geometry": "output/state_geometry.parquet",
    "eigendecomposition": "output/eigendecomposition.parquet",
}

REPORTS = {
    "signal_summary": (
        "Per-signal summary of this week's observations",
        ["observations"],
        """SELECT signal::VARCHAR AS signal, count(*) AS samples,
                  count(*) FILTER (WHERE isnan(value)) AS missing,
                  round(avg(value) FILTER (WHERE NOT isnan(value)), 6) AS mean,
                  round(min(value) FILTER (WHERE NOT isnan(value)), 6) AS min,
                  round(max(value) FILTER (WHERE NOT isnan(value)), 6) AS max,
                  count(DISTINCT source_file) AS files,
                  min(timestamp) AS first_sample, max(timestamp) AS last_sample
           FROM observations GROUP BY 1 ORDER BY 1""",
    ),
    "classification": (
        "Classification per signal (final label; 'uncertain' where the two classifiers disagree)",
        ["typology"],
        """SELECT signal, completeness, variability, distribution, stationarity, memory,
                  periodicity, spectrum, smoothness, outliers, discreteness,
                  n_disagreements, disagreements
           FROM typology ORDER BY signal""",
    ),
    "state_geometry": (
        "State geometry across the week's windows",
        ["state_geometry"],
        """SELECT count(*) AS windows, min(window_end) AS first_window_end,
                  max(window_end) AS last_window_end,
                  round(avg(total_variance), 6) AS mean_total_variance,
                  round(min(effective_dimension), 4) AS min_effective_dimension,
                  round(avg(effective_dimension), 4) AS mean_effective_dimension,
                  round(max(effective_dimension), 4) AS max_effective_dimension,
                  round(avg(dominant_fraction), 4) AS mean_dominant_fraction
           FROM state_geometry""",
    ),
    "dominant_loadings": (
        "Mean |loading| of each signal on the first principal component",
        ["eigendecomposition"],
        """SELECT signal, round(avg(abs(loading)), 4) AS mean_abs_loading,
                  round(avg(explained_ratio), 4) AS mean_explained_ratio, count(*) AS windows
           FROM eigendecomposition WHERE component = 1 GROUP BY 1 ORDER BY 2 DESC""",
    ),
}


def _markdown(title: str, cursor: duckdb.DuckDBPyConnection) -> tuple[str, int]:
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    lines = [f"# {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n", len(rows)


def week_reports(week_dir: Path) -> dict[str, tuple[str, int]]:
    """name -> (markdown, row count) for every report whose inputs exist this week."""
    out = {}
    with duckdb.connect(":memory:") as con:
        for view, rel in VIEW_FILES.items():
            if (week_dir / rel).exists():
                path = (week_dir / rel).as_posix().replace("'", "''")  # views can't take parameters
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{path}')")
        available = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        for name, (title, needs, query) in REPORTS.items():
            if set(needs) <= available:
                out[name] = _markdown(title, con.execute(query))
    return out


def refresh_views(database: Path, partitions_dir: Path) -> list[str]:
    """(Re)create one view per output kind over every week's files; returns the views made."""
    made = []
    database.parent.mkdir(parents=True, exist_ok=True)
    with connect(warehouse_from_path(str(database))) as con:
        for view, rel in VIEW_FILES.items():
            quoted = (partitions_dir / "*" / rel).as_posix().replace("'", "''")
            if not any(partitions_dir.glob(f"*/{rel}")):
                con.execute(f"DROP VIEW IF EXISTS {view}")
                continue
            # the week label is the folder name: partitions/<YYYY-Www>/...
            con.execute(
                f"""CREATE OR REPLACE VIEW {view} AS
                    SELECT regexp_extract(filename, '(\\d{{4}}-W\\d{{2}})', 1) AS week, * EXCLUDE (filename)
                    FROM read_parquet('{quoted}', filename = true, union_by_name = true)"""
            )
            made.append(view)
    return made
