"""The web domain's resources: the graph sink's server (configuration from the environment).

`graph` is always registered; with USE_NEO4J unset and no PIPELINE_NEO4J_URI it is switched off,
and the graph sink asset then records that it skipped instead of failing the documents chain.
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.web.graph_settings import GraphSettings, graph_settings_from_env


class GraphSinkResource(dg.ConfigurableResource):
    """Bolt connection settings for the graph sink (Neo4j 5, or ArcadeDB speaking Bolt)."""

    enabled: bool = False
    uri: str = "bolt://127.0.0.1:7687"
    user: str = "neo4j"
    password: str = ""
    database: str = ""
    batch_rows: int = 1000
    vector_index: str = "auto"
    arcadedb_http: str = ""

    @classmethod
    def from_env(cls) -> "GraphSinkResource":
        settings = graph_settings_from_env()
        if settings is None:
            return cls(enabled=False)
        return cls(enabled=True, uri=settings.uri, user=settings.user, password=settings.password,
                   database=settings.database or "", batch_rows=settings.batch_rows,
                   vector_index=settings.vector_index, arcadedb_http=settings.arcadedb_http or "")

    def settings(self) -> GraphSettings:
        return GraphSettings(uri=self.uri, user=self.user, password=self.password, database=self.database or None,
                             batch_rows=self.batch_rows, vector_index=self.vector_index,
                             arcadedb_http=self.arcadedb_http or None)

    def writer(self):
        from pipeline_project.defs.web.graph import GraphWriter

        return GraphWriter(self.settings())


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"graph": GraphSinkResource.from_env()})
