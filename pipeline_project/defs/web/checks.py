"""Asset checks of the web domain, answered inside the same run.

web_crawl: no_dead_letters (pages that failed for good: 404, loops, size cap, unreadable) from the
item ledger. graph_sink: every chunk of the batch written with its vector.
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.lib.checks import dead_letters_spec

CRAWL_DEAD_LETTERS_SPEC = dead_letters_spec("web_crawl", "crawled URLs")
GRAPH_SPEC = dg.AssetCheckSpec(
    "every_chunk_in_graph_with_vector", asset="graph_sink",
    description="Every chunk of the batch is in the graph under its document, with its embedding.")


def graph_result(written_chunks: int, expected_chunks: int, without_vector: int, skipped: bool) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=GRAPH_SPEC.name,
        passed=skipped or (written_chunks == expected_chunks and without_vector == 0),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"chunks_written": written_chunks, "chunks_in_batch": expected_chunks,
                  "chunks_without_vector": without_vector, "graph_sink": "off" if skipped else "on"})
