"""End to end with the real Dagster daemon: a crawl of a generated loopback site, registered with
`pipeline-project crawl add` and launched with `dagster job launch` as docs/WEB.md shows. The
daemon's web_items_sensor cuts the saved pages into batches of the documents chain, every saved page
ends embedded, and graph_sink_automation writes each batch to a real Bolt server (ArcadeDB)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.web.batching import is_web_batch_id
from pipeline_project.defs.web.graph import GraphWriter
from pipeline_project.defs.web.graph_settings import GraphSettings
from pipeline_project.lib.warehouse import warehouse_from_path
from pipeline_project.samples.sites import GeneratedSite, crawl_config_yaml
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project_tests.defs.documents.helpers import wait_for
from pipeline_project_tests.defs.web.conftest import bolt_server  # noqa: F401 - the session's Bolt server
from pipeline_project_tests.processes import running_daemon

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
CRAWL = "loopback-site"


@pytest.fixture
def site():
    with GeneratedSite(10, slow_seconds=0.5) as s:
        yield s


@pytest.fixture
def project_env(tmp_path, bolt_server):  # noqa: F811
    data = tmp_path / "data"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
               PIPELINE_BATCH_MAX_WAIT_SECONDS="5", PIPELINE_WEB_MAX_PAGE_BYTES="1000000",
               PIPELINE_NEO4J_URI=bolt_server["uri"], PIPELINE_NEO4J_USER=bolt_server["user"],
               PIPELINE_NEO4J_PASSWORD=bolt_server["password"], PIPELINE_NEO4J_DATABASE=bolt_server["database"])
    env.pop("USE_NEO4J", None)
    if bolt_server["http"]:
        env["PIPELINE_ARCADEDB_HTTP_URL"] = bolt_server["http"]
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                   stdout=subprocess.DEVNULL)
    return data, env


@pytest.fixture
def registered(site, project_env) -> str:
    """`pipeline-project crawl add CONFIG`, before the daemon starts (it also creates the instance's
    storage, which two processes must not both create at once)."""
    data, env = project_env
    config = data.parent / "site.yaml"
    config.write_text(crawl_config_yaml(site, name=CRAWL, concurrent_requests=2))
    return _cli(env, "crawl", "add", str(config))


@pytest.fixture
def daemon(project_env, registered):
    data, env = project_env
    with running_daemon(data, env) as proc:
        yield proc


def _cli(env, *args) -> str:
    done = subprocess.run([str(BIN / "pipeline-project"), *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _sql(data: Path, query: str, params=()):
    with warehouse_from_path(str(data / "warehouse.duckdb")).get_connection(read_only=True) as conn:
        return conn.execute(query, list(params)).fetchall()


def _all_written(data: Path, home: Path, log: Path):
    """The crawl run has succeeded, its PDF has left the inbox for a batch, and every batch is in the
    graph (None while not yet)."""
    if list((data / "inbox" / "web-pdfs").rglob("*.pdf")):
        return None
    with dg.DagsterInstance.from_config(str(home)) as instance:
        crawls = instance.get_runs(dg.RunsFilter(job_name="web_crawl_job"))
        failed = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        assert not failed, f"runs failed: {[(r.job_name, r.tags.get('dagster/partition')) for r in failed]} (log {log})"
        if not crawls or crawls[0].status != dg.DagsterRunStatus.SUCCESS:
            return None
        batches = instance.get_dynamic_partitions(ocr_batches.name)
        in_graph = instance.get_materialized_partitions(dg.AssetKey("graph_sink"))
        return batches if batches and set(batches) <= in_graph else None


def test_a_crawl_launched_like_a_user_streams_into_embeddings_and_the_graph(site, project_env, registered, daemon,
                                                                          bolt_server):  # noqa: F811
    data, env = project_env
    home, log = data / "dagster_home", data / "daemon.log"
    assert f"crawl {CRAWL!r} registered" in registered
    launched = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "web_crawl_job",
         "--tags", json.dumps({"dagster/partition": CRAWL})], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert launched.returncode == 0, launched.stderr[-2000:]

    batches = wait_for(lambda: _all_written(data, home, log), timeout=420, interval=2,
                       what=f"the crawl, its batches and the graph (daemon log: {log})")

    pages, links = site.expected()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (crawl,) = instance.fetch_materializations(dg.AssetKey("web_crawl"), limit=1).records
        metadata = crawl.asset_materialization.metadata
        from_sensor = instance.get_runs(dg.RunsFilter(job_name="documents_job",
                                                      tags={"dagster/sensor_name": "web_items_sensor"}))
    # the sensor, not the crawl, took the saved pages into the documents chain
    web_batches = [b for b in batches if is_web_batch_id(b)]
    assert web_batches and {r.tags["dagster/partition"] for r in from_sensor} == set(web_batches)
    assert metadata["pages_saved"].value == len(pages)
    chunks = _sql(data, "SELECT count(*) FROM chunks JOIN documents USING (doc_id) WHERE ocr_source = 'web'")[0][0]
    assert metadata["progress"].value == (f"Progress: Files={len(pages)}, Docs={len(pages)}, Chunks={chunks}, "
                                          f"Embeddings={chunks}, Errors={metadata['crawl_errors'].value}")
    urls = {r[0] for r in _sql(data, "SELECT source_file FROM documents WHERE ocr_source = 'web'")}
    assert {u.replace(site.base_url, "") for u in urls} == pages
    assert _sql(data, "SELECT count(*) FROM chunks c LEFT JOIN embeddings e USING (chunk_id) WHERE e.chunk_id IS NULL") == [(0,)]

    settings = GraphSettings(uri=bolt_server["uri"], user=bolt_server["user"], password=bolt_server["password"],
                             database=bolt_server["database"])
    with GraphWriter(settings) as graph:
        def query(cypher: str) -> list[dict]:
            return [r.data() for r in graph.driver.execute_query(cypher, {"base": site.base_url},
                                                                 database_=settings.database).records]

        docs = query("MATCH (d:Document) WHERE d.url STARTS WITH $base RETURN d.url AS url")
        assert {d["url"].replace(site.base_url, "") for d in docs} == pages
        drawn = query("MATCH (a:Document)-[:LINKS_TO]->(b:Document) WHERE a.url STARTS WITH $base "
                      "RETURN a.url AS a, b.url AS b")
        assert {(x["a"].replace(site.base_url, ""), x["b"].replace(site.base_url, "")) for x in drawn} == links
        assert query("MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk) WHERE d.url STARTS WITH $base "
                     "AND size(c.embedding) = 384 RETURN count(c) AS n") == [{"n": chunks}]
        # the linked PDF went through the PDF chain into the graph too
        (pdf,) = _sql(data, "SELECT doc_id, source_file FROM documents WHERE ocr_source <> 'web'")
        assert pdf[1].startswith(f"web-pdfs/{CRAWL}/") and pdf[1].endswith("report.pdf")
        written = graph.driver.execute_query(
            "MATCH (d:Document {id: $id})-[:HAS_CHUNK]->(c:Chunk) RETURN d.source_type AS type, count(c) AS n",
            {"id": pdf[0]}, database_=settings.database).records
        assert [(r["type"], r["n"] > 0) for r in written] == [("pdf", True)]
