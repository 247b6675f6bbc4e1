"""Search as a user runs it: real PDFs through the chain (real Tesseract-free text layers, real model, real DuckDB)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pymupdf
import pytest

from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.queries import search
from pipeline_project.defs.documents.search import index, snippets
from pipeline_project.samples.search import FACTS, fact_pdf
from pipeline_project_tests.defs.documents.helpers import claim_inbox, table

ROOT = Path(__file__).resolve().parents[3]
LINE = "Reset the valve controller with code ERR-7731-XQ before the pressure test begins."


def short_pages_pdf(path: Path, pages: list[str]) -> Path:
    """Pages of ~50 words, so one 200-token chunk spans several pages."""
    doc = pymupdf.open()
    for text in pages:
        doc.new_page().insert_textbox(pymupdf.Rect(54, 54, 558, 760), text, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


FILLER = ("The maintenance crew walked the site and logged the state of every pump, pipe and gauge they "
          "passed, noting dates and the names of the people on shift that day in the usual book.")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """One warehouse for the module: a manual whose line sits on page 3, and a document of facts."""
    root = tmp_path_factory.mktemp("search") / "data"
    old = os.environ.get("PIPELINE_DATA_DIR")
    os.environ["PIPELINE_DATA_DIR"] = str(root)
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.lib.storage import StorageResource
    from pipeline_project.lib.warehouse import warehouse_from_path
    from pipeline_project.defs.documents.ocr.local import LocalOcrEngine

    storage = StorageResource(root=str(root))
    resources = {"storage": storage, "warehouse": warehouse_from_path(str(storage.warehouse_path)),
                 "ocr_engine": LocalOcrEngine(), "embedder": EmbedderResource()}
    short_pages_pdf(storage.inbox / "valve_manual.pdf", [f"Page one. {FILLER}", f"Page two. {FILLER}",
                                                          f"Page three. {LINE} {FILLER}", f"Page four. {FILLER}"])
    fact_pdf(storage.inbox / "facts.pdf", [f for f, _ in FACTS[:6]], seed=1)
    with dg.instance_for_test() as instance:
        batch = claim_inbox(instance, storage)
        assert dg.materialize(documents_assets, partition_key=batch, resources=resources, instance=instance).success
        yield {"storage": storage, "resources": resources, "instance": instance, "batch": batch, "root": root}
    if old is None:
        os.environ.pop("PIPELINE_DATA_DIR", None)
    else:
        os.environ["PIPELINE_DATA_DIR"] = old


def _search(corpus, query, mode="hybrid", k=3):
    r = corpus["resources"]
    return search(r["warehouse"], r["embedder"], query, k=k, mode=mode)


def test_a_pasted_line_finds_its_document_and_the_page_it_is_on(corpus):
    (first, *_) = _search(corpus, LINE)
    assert first["source_file"] == "valve_manual.pdf"
    assert first["page"] == 3  # where the line is, though the chunk starts on an earlier page
    assert first["page_start"] < 3
    assert "ERR" in first["snippet"] and "7731" in first["snippet"]


def test_every_mode_answers_and_lexical_finds_a_code_by_its_exact_words(corpus):
    (hit, *_) = _search(corpus, "ERR-7731-XQ", mode="lexical")
    assert hit["source_file"] == "valve_manual.pdf" and hit["page"] == 3 and hit["lexical_rank"] == 1
    vector = _search(corpus, "ERR-7731-XQ", mode="vector")
    assert vector and all(h["cosine"] is not None for h in vector)
    with pytest.raises(ValueError, match="choose one of"):
        _search(corpus, "anything", mode="fuzzy")


def test_a_question_in_other_words_finds_the_fact(corpus):
    fact, question = FACTS[3]  # the pump stopped because of vibration
    for mode in ("hybrid", "vector"):
        hits = _search(corpus, question, mode=mode)
        assert any(h["source_file"] == "facts.pdf" and h["page"] == 4 for h in hits), (mode, hits)


def test_snippet_marks_the_matched_words(corpus):
    (hit, *_) = _search(corpus, "valve controller pressure")
    marked = {hit["snippet"][s:e].lower() for s, e in hit["highlights"]}
    assert {"valve", "controller", "pressure"} <= marked
    coloured = snippets.on_terminal(hit["snippet"], hit["highlights"], colour=True)
    assert "\x1b[1;33mvalve\x1b[0m" in coloured.lower()
    assert snippets.on_terminal(hit["snippet"], hit["highlights"], colour=False) == hit["snippet"]


def test_the_lexical_index_follows_batches_without_a_rebuild(corpus):
    storage, instance, resources = corpus["storage"], corpus["instance"], corpus["resources"]
    first = table(storage, f"SELECT count(*) FROM search_chunks WHERE batch_id = '{corpus['batch']}'")
    fact_pdf(storage.inbox / "more_facts.pdf", [f for f, _ in FACTS[6:9]], seed=2)
    second = claim_inbox(instance, storage)
    chunk_assets = [a for a in documents_assets if a.key.path[-1] != "embeddings"]
    for _ in range(2):  # a re-run replaces the batch's rows, never adds a second copy
        assert dg.materialize(chunk_assets, partition_key=second, resources=resources, instance=instance).success
    assert table(storage, f"SELECT count(*) FROM search_chunks WHERE batch_id = '{corpus['batch']}'") == first
    per_batch = dict(table(storage, "SELECT batch_id, count(*) FROM search_chunks GROUP BY ALL"))
    assert per_batch == dict(table(storage, "SELECT batch_id, count(*) FROM chunks GROUP BY ALL"))
    (hit, *_) = _search(corpus, FACTS[7][0], mode="lexical")
    assert hit["source_file"] == "more_facts.pdf" and hit["page"] == 2


def test_cli_search_prints_json_without_loading_dagster(corpus):
    env = dict(os.environ, PIPELINE_DATA_DIR=str(corpus["root"]), PYTHONPATH=str(ROOT),
               PIPELINE_API_URL="http://127.0.0.1:9")  # nothing listens there: a local search
    done = subprocess.run([sys.executable, "-m", "pipeline_project.cli", "search", LINE, "--json", "-k", "2"],
                          env=env, capture_output=True, text=True, check=True)
    hits = json.loads(done.stdout)
    assert "hybrid search" in done.stderr and "answered by the cli" in done.stderr
    assert len(hits) == 2 and (hits[0]["source_file"], hits[0]["page"]) == ("valve_manual.pdf", 3)
    probe = ("import sys; from pipeline_project.cli import main; "
             f"main(['search', {LINE!r}, '--json']); print('dagster' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1] == "False"


def test_hits_of_crawled_pages_name_their_url(data_dir, warehouse):
    from pipeline_project.defs.documents.tables import ensure_schema

    url = "https://example.org/notes/turbines.html"
    with warehouse.get_connection() as conn:
        ensure_schema(conn)
        conn.execute("INSERT INTO documents (doc_id, batch_id, source_file, pages) VALUES ('w1', 'b1', ?, 1)", [url])
        conn.execute("INSERT INTO pages VALUES ('w1', 1, 'b1', 'web', 'Turbine blades inspected for erosion')")
        conn.execute("INSERT INTO chunks VALUES ('c1', 'w1', 'b1', 0, 1, 1, 6, 'Turbine blades inspected for erosion')")
        index.index_batch(conn, "b1")
    from pipeline_project.lib.embedder import EmbedderResource

    (hit,) = search(warehouse, EmbedderResource(), "turbine erosion", mode="lexical")
    assert (hit["source_type"], hit["url"], hit["source_file"], hit["page"]) == ("web", url, url, 1)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(corpus, tmp_path_factory):
    """The project's web server (pipeline_project.lib.web) on the corpus's data directory."""
    import time
    import urllib.request

    from pipeline_project.lib.web import spawn

    workdir = tmp_path_factory.mktemp("server")
    port = _free_port()
    log = open(workdir / "server.log", "w")
    env = dict(os.environ, PIPELINE_DATA_DIR=str(corpus["root"]), DAGSTER_HOME=str(workdir / "home"),
               PYTHONPATH=str(ROOT))
    env.pop("PIPELINE_API_TOKEN", None)
    proc = spawn("127.0.0.1", port, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/health", timeout=2).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (workdir / "server.log").read_text()
            time.sleep(0.3)
    yield {"url": base, "workdir": workdir}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_the_server_answers_json_and_the_cli_asks_it(corpus, server):
    import urllib.error
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"q": LINE, "k": 3})
    answer = json.loads(urllib.request.urlopen(f"{server['url']}/api/v1/documents/search?{query}", timeout=120).read())
    assert (answer["hits"][0]["source_file"], answer["hits"][0]["page"]) == ("valve_manual.pdf", 3)
    with pytest.raises(urllib.error.HTTPError) as bad:
        urllib.request.urlopen(f"{server['url']}/api/v1/documents/search?q=x&mode=fuzzy", timeout=30)
    assert bad.value.code == 400 and "choose one of" in json.loads(bad.value.read())["error"]

    env = dict(os.environ, PIPELINE_DATA_DIR=str(corpus["root"]), PYTHONPATH=str(ROOT), PIPELINE_API_URL=server["url"])
    cli = subprocess.run([sys.executable, "-m", "pipeline_project.cli", "search", LINE, "--json"], env=env,
                         capture_output=True, text=True, check=True)
    assert "answered by the server" in cli.stderr and json.loads(cli.stdout)[0]["page"] == 3
    # a server of another data directory is not asked: its warehouse is not this one
    other = dict(env, PIPELINE_DATA_DIR=str(server["workdir"] / "elsewhere"))
    alone = subprocess.run([sys.executable, "-m", "pipeline_project.cli", "search", LINE, "--json"],
                           env=other, capture_output=True, text=True, check=True)
    assert "answered by the cli" in alone.stderr and json.loads(alone.stdout) == []


def test_the_search_page_shows_hits_with_marked_words_in_a_browser(server):
    import shutil
    import urllib.parse

    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (scripts/install_browser.sh)")
    from pipeline_project_tests.defs.drawings.browser import Browser

    browser = Browser(server["workdir"])
    try:
        browser.open(f"{server['url']}/documents/search?" + urllib.parse.urlencode({"q": "valve controller code"}))
        browser.wait_for("document.querySelectorAll('.hit').length > 0", timeout=120, what="hits on the page")
        first = browser.js("document.querySelector('.hit .source').textContent")
        marks = browser.js("[...document.querySelectorAll('.hit')[0].querySelectorAll('mark')].map(m => m.textContent.toLowerCase())")
        assert first == "valve_manual.pdf"
        assert {"valve", "controller", "code"} <= set(marks)
        browser.screenshot(server["workdir"] / "search_page.png")
    finally:
        browser.close()
