"""Where the graph sink writes: a Neo4j 5 server, or any server speaking Bolt with Neo4j's Cypher.

The sink is on when USE_NEO4J=true or PIPELINE_NEO4J_URI is set:

    PIPELINE_NEO4J_URI        bolt://127.0.0.1:7687 (neo4j:// for a cluster)
    PIPELINE_NEO4J_USER       neo4j
    PIPELINE_NEO4J_PASSWORD   (empty)
    PIPELINE_NEO4J_DATABASE   (the server's default database)
    PIPELINE_NEO4J_BATCH_ROWS 1000 rows per UNWIND transaction
    PIPELINE_NEO4J_VECTOR_INDEX auto | neo4j | arcadedb | none   (how the Chunk.embedding index is made)
    PIPELINE_ARCADEDB_HTTP_URL  ArcadeDB's HTTP API, for its vector-index DDL (default: the Bolt host, port 2480)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pipeline_project.lib.settings import env_int, env_str

VECTOR_INDEX_MODES = ("auto", "neo4j", "arcadedb", "none")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class GraphSettings:
    uri: str
    user: str = "neo4j"
    password: str = ""
    database: str | None = None
    batch_rows: int = 1000
    vector_index: str = "auto"
    arcadedb_http: str | None = None

    def __post_init__(self):
        if self.vector_index not in VECTOR_INDEX_MODES:
            raise ValueError(f"PIPELINE_NEO4J_VECTOR_INDEX must be one of {', '.join(VECTOR_INDEX_MODES)}, "
                             f"not {self.vector_index!r}")

    def describe(self) -> str:
        return f"{self.uri}{'/' + self.database if self.database else ''} as {self.user}"


def graph_configured() -> bool:
    return _truthy(os.environ.get("USE_NEO4J")) or bool(os.environ.get("PIPELINE_NEO4J_URI"))


def graph_settings_from_env() -> GraphSettings | None:
    """The sink's settings, or None when the graph sink is off."""
    if not graph_configured():
        return None
    return GraphSettings(
        uri=env_str("PIPELINE_NEO4J_URI", "bolt://127.0.0.1:7687"),
        user=env_str("PIPELINE_NEO4J_USER", "neo4j"),
        password=os.environ.get("PIPELINE_NEO4J_PASSWORD", ""),
        database=os.environ.get("PIPELINE_NEO4J_DATABASE") or None,
        batch_rows=env_int("PIPELINE_NEO4J_BATCH_ROWS", 1000),
        vector_index=env_str("PIPELINE_NEO4J_VECTOR_INDEX", "auto").lower(),
        arcadedb_http=os.environ.get("PIPELINE_ARCADEDB_HTTP_URL") or None,
    )
