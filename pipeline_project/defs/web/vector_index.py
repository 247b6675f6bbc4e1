"""The one place where Neo4j 5 and ArcadeDB differ for the sink: creating the Chunk.embedding
vector index, and the index name a vector query uses.

Neo4j 5.11+: `CREATE VECTOR INDEX ... OPTIONS {indexConfig: ...}` over Bolt; queried by its name.
ArcadeDB: that statement is refused ("Only standard, RANGE and TEXT index types are supported"); the
index is made with ArcadeDB SQL over its HTTP API and queried as 'Chunk[embedding]'. Both answer
`CALL db.index.vector.queryNodes(name, k, vector)` with scores on Neo4j's (1 + cosine) / 2 scale.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from urllib.parse import urlsplit

NEO4J_INDEX_NAME = "chunk_embedding"
ARCADEDB_INDEX_NAME = "Chunk[embedding]"


class VectorIndex:
    name = "none"
    query_name: str | None = None

    def ensure(self, driver, database: str | None, dimensions: int) -> None:
        """Create the index if it does not exist (idempotent)."""


class Neo4jVectorIndex(VectorIndex):
    name = "neo4j"
    query_name = NEO4J_INDEX_NAME

    def ensure(self, driver, database, dimensions):
        driver.execute_query(
            f"CREATE VECTOR INDEX {NEO4J_INDEX_NAME} IF NOT EXISTS FOR (c:Chunk) ON (c.embedding) "
            f"OPTIONS {{indexConfig: {{`vector.dimensions`: {int(dimensions)}, "
            "`vector.similarity_function`: 'cosine'}}", database_=database)


class ArcadeDbVectorIndex(VectorIndex):
    name = "arcadedb"
    query_name = ARCADEDB_INDEX_NAME

    def __init__(self, http_url: str, user: str, password: str):
        self.http_url, self.user, self.password = http_url.rstrip("/"), user, password

    def _sql(self, database: str, command: str) -> dict:
        request = urllib.request.Request(
            f"{self.http_url}/api/v1/command/{database}",
            data=json.dumps({"language": "sql", "command": command}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")

    def ensure(self, driver, database, dimensions):
        db = database or "neo4j"
        self._sql(db, "CREATE VERTEX TYPE Chunk IF NOT EXISTS")
        self._sql(db, "CREATE PROPERTY Chunk.embedding IF NOT EXISTS ARRAY_OF_FLOATS")
        self._sql(db, "CREATE INDEX IF NOT EXISTS ON Chunk (embedding) LSM_VECTOR "
                      f"METADATA {{dimensions: {int(dimensions)}, similarity: 'COSINE'}}")


def choose_vector_index(settings, server_agent: str) -> VectorIndex:
    mode = settings.vector_index
    if mode == "auto":
        mode = "arcadedb" if "arcadedb" in server_agent.lower() else "neo4j"
    if mode == "none":
        return VectorIndex()
    if mode == "neo4j":
        return Neo4jVectorIndex()
    http = settings.arcadedb_http or f"http://{urlsplit(settings.uri).hostname or '127.0.0.1'}:2480"
    return ArcadeDbVectorIndex(http, settings.user, settings.password)
