"""Fixtures for the web domain: a generated site on loopback, crawls of it, and a real Bolt server.

The Bolt server is ArcadeDB (PyPI arcadedb-embedded), started once per test session with
scripts/arcadedb/start.sh on free ports and stopped by its PID; if PIPELINE_TEST_NEO4J_URI is set
(scripts/test.sh starts one for the whole run) that server is used instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_project.defs.web.config import load_config
from pipeline_project.defs.web.crawl_log import read_run
from pipeline_project.defs.web.crawl_process import start_crawl
from pipeline_project.samples.sites import GeneratedSite, crawl_config_yaml
from pipeline_project_tests.net import free_port

REPO = Path(__file__).resolve().parents[3]
HUGE_CAP = 1_000_000  # bytes; the site's huge page is 3 MiB


def crawl_site(site: GeneratedSite, root: Path, name: str = "site", pages: int | None = None, **overrides):
    """Crawl `site` into `root` (inbox/web items, inbox/web-pdfs) and return the finished run."""
    config_path = root / f"{name}.yaml"
    config_path.write_text(crawl_config_yaml(site, name=name, **overrides))
    config = load_config(config_path, page_limit=pages)
    process = start_crawl(config, root, root / "inbox" / "web", root / "inbox" / "web-pdfs" / name)
    assert process.wait(120) == 0, (process.run_dir / "process.out").read_text()[-3000:]
    return read_run(process.run_dir)


@pytest.fixture(scope="session")
def site():
    with GeneratedSite(20, slow_seconds=1.0) as s:
        yield s


@pytest.fixture(autouse=True)
def _page_cap(monkeypatch):
    monkeypatch.setenv("PIPELINE_WEB_MAX_PAGE_BYTES", str(HUGE_CAP))
    monkeypatch.setenv("PIPELINE_WEB_TIMEOUT_SECONDS", "20")


@pytest.fixture(scope="module")
def crawled(site, tmp_path_factory):
    """One full crawl of the shared site, plus an unreachable start URL (reused by many tests)."""
    os.environ["PIPELINE_WEB_MAX_PAGE_BYTES"] = str(HUGE_CAP)
    root = tmp_path_factory.mktemp("crawl")
    run = crawl_site(site, root, start_urls=[site.url("/"), f"http://127.0.0.1:{_closed_port()}/"])
    return root, run


def _closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory):
    """{uri, user, password, database, http}: a real Bolt server for the whole session."""
    if os.environ.get("PIPELINE_TEST_NEO4J_URI"):
        yield {"uri": os.environ["PIPELINE_TEST_NEO4J_URI"],
               "user": os.environ.get("PIPELINE_TEST_NEO4J_USER", "root"),
               "password": os.environ.get("PIPELINE_TEST_NEO4J_PASSWORD", "arcadedb-pass"),
               "database": os.environ.get("PIPELINE_TEST_NEO4J_DATABASE", "neo4j"),
               "http": os.environ.get("PIPELINE_TEST_ARCADEDB_HTTP_URL", "")}
        return
    state = tmp_path_factory.mktemp("arcadedb")
    bolt, http = free_port(), free_port()
    env = {**os.environ, "ARCADEDB_BOLT_PORT": str(bolt), "ARCADEDB_HTTP_PORT": str(http),
           "ARCADEDB_ROOT_PASSWORD": "test-password", "ARCADEDB_HEAP": "512m",
           "PYTHON": sys.executable}
    started = subprocess.run(["bash", str(REPO / "scripts/arcadedb/start.sh"), str(state)], env=env,
                             capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        pytest.fail(f"ArcadeDB did not start:\n{started.stdout}\n{started.stderr}")
    try:
        yield {"uri": f"bolt://127.0.0.1:{bolt}", "user": "root", "password": "test-password",
               "database": "neo4j", "http": f"http://127.0.0.1:{http}"}
    finally:
        subprocess.run(["bash", str(REPO / "scripts/arcadedb/stop.sh"), str(state)], timeout=60)
