"""Web crawl benchmark: a generated ~500-page site served with 200 ms latency per page, crawled and
processed into documents → chunks → embeddings in streaming mode and in batch mode, side by side; a
plain-Python one-process baseline doing the same work; and the graph sink's write rate to a Bolt
server (ArcadeDB from the PyPI wheel arcadedb-embedded, started and stopped here by PID).

    .venv/bin/python benchmarks/web_bench.py                 # 500 pages, 200 ms, 2 concurrent requests
    .venv/bin/python benchmarks/web_bench.py --pages 100 --skip-baseline

Prints: total time, time from the crawl's start to the first searchable chunk, pages, chunks, and
chunks written to the graph per second. Targets on a 2-core machine: first searchable chunk ≤ 15 s;
streaming total ≤ 0.7 × batch; graph writes ≥ 2,000 chunks/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import PeakRss, cpu_info, mib  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_site(pages: int, latency: float):
    """The site in its own process, so serving never competes with the pipeline for the GIL."""
    proc = subprocess.Popen([sys.executable, "-m", "pipeline_project.samples.sites", "serve", "--pages", str(pages),
                             "--latency", str(latency)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    url = proc.stdout.readline().strip()
    return proc, url


def crawl_config(base_url: str, root: Path, concurrency: int, name: str) -> Path:
    import yaml

    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "start_urls": [base_url + "/"], "allowed_domains": ["127.0.0.1"], "page_limit": 10_000,
        "max_depth": 20, "delay_seconds": 0, "concurrent_requests": concurrency, "obey_robots": True,
        "user_agent": "pipeline-project-bench"}))
    return path


def run_mode(mode: str, base_url: str, concurrency: int) -> dict:
    """One crawl + processing in a fresh storage root and Dagster instance."""
    import dagster as dg

    from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
    from pipeline_project.defs.web.config import load_config
    from pipeline_project.defs.web.runner import run_crawl
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.lib.storage import StorageResource
    from pipeline_project.lib.warehouse import WarehouseResource

    root = Path(tempfile.mkdtemp(prefix=f"web_bench_{mode}_"))
    os.environ["PIPELINE_DATA_DIR"] = str(root / "data")
    storage = StorageResource(root=str(root / "data"))
    resources = {"storage": storage, "warehouse": WarehouseResource(database=str(storage.warehouse_path)),
                 "embedder": EmbedderResource(threads=os.cpu_count() or 1), "ocr_engine": LocalOcrEngine()}
    resources["embedder"].embed(["warm up the model once, as a long-running daemon would have"])
    config = load_config(crawl_config(base_url, root, concurrency, f"bench-{mode}"))
    with dg.instance_for_test() as instance, PeakRss(os.getpid()) as rss:
        report = run_crawl(config, instance=instance, resources=resources, mode=mode, with_graph=False,
                           out=lambda line: print(f"  [{mode}] {line}", flush=True), progress_every=10.0)
    return {"mode": mode, "seconds": report.seconds, "crawl_seconds": report.crawl_seconds,
            "first_chunk_seconds": report.first_batch_done_seconds, "pages": report.progress.files,
            "chunks": report.progress.chunks, "embeddings": report.progress.embeddings, "batches": len(report.batches),
            "failed": len(report.failed), "peak_rss": rss.peak, "warehouse": storage.warehouse_path, "root": root}


def baseline(base_url: str, pages_expected: int, concurrency: int) -> dict:
    """Plain Python in one process: fetch every page (a thread pool of the same size), extract the main
    text with trafilatura, chunk with the same tokenizer windows, embed with the same model."""
    import httpx
    from lxml import html as lxml_html

    from pipeline_project.defs.documents.chunking import chunk_document
    from pipeline_project.defs.web.extract import extract_main_text
    from pipeline_project.lib.embedder import EmbedderResource

    embedder = EmbedderResource(threads=os.cpu_count() or 1)
    embedder.embed(["warm up"])
    tokenizer = embedder.tokenizer()
    started = time.monotonic()
    seen, frontier, texts = {base_url + "/"}, [base_url + "/"], []
    with httpx.Client(timeout=30, follow_redirects=True) as client, ThreadPoolExecutor(concurrency) as pool:
        while frontier:
            responses = list(pool.map(lambda u: _get(client, u), frontier))
            frontier = []
            for url, resp in responses:
                if resp is None or resp.status_code != 200 or "html" not in resp.headers.get("content-type", ""):
                    continue
                extracted = extract_main_text(resp.text, url)
                texts.append((url, extracted.text))
                for href in lxml_html.fromstring(resp.content).xpath("//a/@href"):
                    link = str(httpx.URL(url).join(href)).split("#")[0]
                    if link.startswith(base_url) and link not in seen and "/private/" not in link:
                        seen.add(link)
                        frontier.append(link)
    crawl_seconds = time.monotonic() - started
    chunks = [c.text for url, text in texts for c in chunk_document(url, text, [], tokenizer)]
    for start in range(0, len(chunks), 512):
        embedder.embed(chunks[start:start + 512])
    return {"seconds": time.monotonic() - started, "crawl_seconds": crawl_seconds, "pages": len(texts), "chunks": len(chunks)}


def _get(client, url):
    try:
        return url, client.get(url)
    except Exception:
        return url, None


def graph_rate(warehouse_path: Path) -> dict:
    """Write every batch of a finished run to a fresh ArcadeDB over Bolt, twice (the second is a re-run)."""
    import duckdb

    from pipeline_project.defs.web.graph import GraphWriter
    from pipeline_project.defs.web.graph_rows import rows_for_batch
    from pipeline_project.defs.web.graph_settings import GraphSettings
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.lib.warehouse import WarehouseResource

    state = Path(tempfile.mkdtemp(prefix="web_bench_arcadedb_"))
    bolt, http = free_port(), free_port()
    env = {**os.environ, "ARCADEDB_BOLT_PORT": str(bolt), "ARCADEDB_HTTP_PORT": str(http), "PYTHON": sys.executable}
    subprocess.run(["bash", str(REPO / "scripts/arcadedb/start.sh"), str(state)], env=env, check=True)
    try:
        settings = GraphSettings(uri=f"bolt://127.0.0.1:{bolt}", user="root", password="arcadedb-pass",
                                 database="neo4j", arcadedb_http=f"http://127.0.0.1:{http}")
        warehouse = WarehouseResource(database=str(warehouse_path))
        with duckdb.connect(str(warehouse_path), read_only=True) as conn:
            batch_ids = [r[0] for r in conn.execute("SELECT DISTINCT batch_id FROM documents").fetchall()]
        rows = [rows_for_batch(warehouse, b, EmbedderResource().model) for b in batch_ids]
        docs = [d for r in rows for d in r.documents]
        chunks = [c for r in rows for c in r.chunks]
        links = [link for r in rows for link in r.links]
        sources = [s for r in rows for s in r.link_sources]
        out = {}
        # the Bolt write path alone (no vector index yet), then from empty with ArcadeDB's vector index
        # maintained on every write, then the same rows again (a re-run: MERGE finds everything)
        with GraphWriter(replace(settings, vector_index="none")) as writer:
            out["first write, no vector index"] = writer.write(docs, chunks, links, link_sources=sources)
            writer.clear()
        with GraphWriter(settings) as writer:
            for label in ("first write, vector index", "re-run"):
                out[label] = writer.write(docs, chunks, links, link_sources=sources)
            out["stats"] = writer.stats()
        return out
    finally:
        subprocess.run(["bash", str(REPO / "scripts/arcadedb/stop.sh"), str(state)], check=False)
        shutil.rmtree(state, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-graph", action="store_true")
    args = parser.parse_args()
    print(f"web benchmark: {args.pages}-page generated site, {args.latency * 1000:.0f} ms per response, "
          f"{args.concurrency} concurrent requests, {cpu_info()}", flush=True)
    server, url = serve_site(args.pages, args.latency)
    try:
        results = [run_mode("streaming", url, args.concurrency), run_mode("batch", url, args.concurrency)]
        base = None if args.skip_baseline else baseline(url, results[0]["pages"], args.concurrency)
    finally:
        server.terminate()
        server.wait()
    print("\nmode        total s   crawl s   first searchable chunk s   pages   chunks   batches   peak RSS")
    for r in results:
        print(f"{r['mode']:<10} {r['seconds']:8.1f} {r['crawl_seconds']:9.1f} {r['first_chunk_seconds'] or 0:26.1f}"
              f" {r['pages']:7d} {r['chunks']:8d} {r['batches']:9d}   {mib(r['peak_rss'])}")
    if base:
        print(f"{'baseline':<10} {base['seconds']:8.1f} {base['crawl_seconds']:9.1f} {'(end)':>26}"
              f" {base['pages']:7d} {base['chunks']:8d}         -   (one process, no Dagster)")
    stream, batch = results
    print(f"\nstreaming / batch total: {stream['seconds'] / batch['seconds']:.2f}× (target ≤ 0.70×)")
    print(f"first searchable chunk (streaming): {stream['first_chunk_seconds']:.1f} s after the crawl started (target ≤ 15 s)")
    if base:
        print(f"streaming / plain-Python baseline: {stream['seconds'] / base['seconds']:.2f}×")
    if not args.skip_graph:
        graph = graph_rate(stream["warehouse"])
        for label in ("first write, no vector index", "first write, vector index", "re-run"):
            r = graph[label]
            print(f"graph {label}: {r.documents} documents, {r.chunks} chunks (384-d vectors), {r.links} links in "
                  f"{r.seconds:.1f} s; chunks {r.chunks_per_second:,.0f}/s (target ≥ 2,000/s); {r.transactions} transactions")
        print(f"graph after both: {graph['stats']['nodes']} {graph['stats']['relationships']}")
    for r in results:  # the runs' storage roots (tens of MB each)
        shutil.rmtree(r["root"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
