"""Web crawl benchmark: a generated ~500-page site served with 200 ms latency per page, crawled and
processed into documents → chunks → embeddings in streaming mode and in batch mode, side by side; a
plain-Python one-process baseline doing the same work; and the graph sink's write rate to a Bolt
server (ArcadeDB from the PyPI wheel arcadedb-embedded, started and stopped here by PID).

    .venv/bin/python benchmarks/web_bench.py                 # 500 pages, 200 ms, 2 concurrent requests
    .venv/bin/python benchmarks/web_bench.py --pages 100 --skip-baseline
    .venv/bin/python benchmarks/web_bench.py --graph-only    # graph writes only, rows of the 500-page site

Prints: total time, time from the crawl's start to the first searchable chunk, pages, chunks, and
chunks written to the graph per second: the first write on a fresh (cold) server, a re-run, and
writes of new pages on a warm server, for the sink (with and without ArcadeDB's vector index) and
for a baseline sending the same MERGE statements through the driver the plain way, with the
server's and this process's CPU time and the server's JIT compile time, and a digest showing that
sink and baseline leave the same graph. Targets on a 2-core machine: first searchable chunk
≤ 15 s; streaming total ≤ 0.7 × batch; graph writes ≥ 2,000 chunks/s.
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


def rows_from_warehouse(warehouse_path: Path) -> tuple[list, list, list, list]:
    """Every batch's graph rows from a finished run's warehouse, as graph_sink reads them."""
    import duckdb

    from pipeline_project.defs.web.graph_rows import rows_for_batch
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.lib.warehouse import WarehouseResource

    warehouse = WarehouseResource(database=str(warehouse_path))
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        batch_ids = [r[0] for r in conn.execute("SELECT DISTINCT batch_id FROM documents").fetchall()]
    rows = [rows_for_batch(warehouse, b, EmbedderResource().model) for b in batch_ids]
    return ([d for r in rows for d in r.documents], [c for r in rows for c in r.chunks],
            [link for r in rows for link in r.links], [s for r in rows for s in r.link_sources])


def rows_from_site(pages: int) -> tuple[list, list, list, list]:
    """The graph rows a crawl of the generated site gives, built without crawling (for --graph-only):
    each saved page's main text (trafilatura), the documents chunker and the embedding model, the
    site's own link structure; the same shapes and about the same sizes as rows_from_warehouse."""
    from pipeline_project.defs.documents.chunking import chunk_document
    from pipeline_project.defs.web.extract import extract_main_text
    from pipeline_project.defs.web.items import doc_id_for_url
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.samples.sites import GeneratedSite

    site, base = GeneratedSite(pages), "http://127.0.0.1:8000"
    saved, edges = site.expected()
    embedder = EmbedderResource(threads=os.cpu_count() or 1)
    tokenizer = embedder.tokenizer()
    docs, chunks = [], []
    for path in sorted(saved):
        html = site.home_html() if path == "/" else site.html(site.pages[path])
        page = extract_main_text(html, base + path)
        doc_id = doc_id_for_url(base + path)
        docs.append({"id": doc_id, "source_type": "web", "url": base + path, "source_file": None, "title": page.title})
        chunks += [{"id": c.chunk_id, "doc_id": doc_id, "text": c.text, "page": c.page_start,
                    "chunk_index": c.chunk_index, "model": embedder.model} for c in chunk_document(doc_id, page.text, [], tokenizer)]
    vectors = embedder.embed([c["text"] for c in chunks])
    for chunk, vector in zip(chunks, vectors):
        chunk["embedding"] = [float(x) for x in vector]  # as DuckDB hands them over: Python floats
    ids = {path: doc_id_for_url(base + path) for path in saved}
    links = [{"source": ids[a], "target": ids[b]} for a, b in sorted(edges)]
    return docs, chunks, links, [d["id"] for d in docs]


class BoltServer:
    """A fresh ArcadeDB (scripts/arcadedb/start.sh) on free ports, stopped by PID: every first write
    is measured on a cold server with an empty database, as a first `graph sync` would meet it.
    `cpu()` is the CPU time the server and this process have used so far: writes measured in CPU
    seconds do not depend on what else the machine runs."""

    def __enter__(self) -> "BoltServer":
        from pipeline_project.defs.web.graph_settings import GraphSettings

        self.state = Path(tempfile.mkdtemp(prefix="web_bench_arcadedb_"))
        bolt, http = free_port(), free_port()
        env = {**os.environ, "ARCADEDB_BOLT_PORT": str(bolt), "ARCADEDB_HTTP_PORT": str(http), "PYTHON": sys.executable}
        subprocess.run(["bash", str(REPO / "scripts/arcadedb/start.sh"), str(self.state)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        self.pid = int((self.state / "server.pid").read_text())
        self.settings = GraphSettings(uri=f"bolt://127.0.0.1:{bolt}", user="root", password="arcadedb-pass",
                                      database="neo4j", arcadedb_http=f"http://127.0.0.1:{http}")
        return self

    def cpu(self) -> tuple[float, float, float | None]:
        """(server CPU s, this process's CPU s, the server JVM's JIT compile time so far, or None
        without a JDK's `jstat` on PATH)."""
        import resource

        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        own = resource.getrusage(resource.RUSAGE_SELF)
        jit = None
        if shutil.which("jstat"):
            out = subprocess.run(["jstat", "-compiler", str(self.pid)], capture_output=True, text=True).stdout.split()
            jit = float(out[9]) if len(out) > 9 else None  # Compiled Failed Invalid Time ... → Time
        return server, own.ru_utime + own.ru_stime, jit

    def __exit__(self, *exc):
        subprocess.run(["bash", str(REPO / "scripts/arcadedb/stop.sh"), str(self.state)], check=False,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(self.state, ignore_errors=True)


def graph_digest(writer) -> str:
    """A hash of every node's labels and properties and every relationship (vectors to 6 decimals):
    two writes that leave the same graph have the same digest."""
    import hashlib

    def norm(value):
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    db = writer.settings.database
    nodes = sorted(repr((sorted(r["labels"]), sorted((k, norm(v)) for k, v in r["props"].items())))
                   for r in writer.driver.execute_query("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props",
                                                        database_=db).records)
    rels = sorted(repr((r["a"], r["type"], r["b"])) for r in writer.driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN coalesce(a.id, a.doi) AS a, type(r) AS type, coalesce(b.id, b.doi) AS b",
        database_=db).records)
    return hashlib.sha256("\n".join(nodes + rels).encode()).hexdigest()[:16]


def plain_driver_write(settings, docs: list, chunks: list, links: list) -> tuple[float, float]:
    """Baseline: the same UNWIND … MERGE statements sent the plain way (the driver's own
    session.execute_write, plain lists as parameters, batches of 1,000 rows). Returns (total s, chunk s)."""
    from neo4j import GraphDatabase

    from pipeline_project.defs.web.graph_cypher import CONSTRAINTS, MERGE_CHUNKS, MERGE_DOCUMENTS, MERGE_LINKS
    from pipeline_project.defs.web.vector_index import choose_vector_index

    with GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password)) as driver, \
            driver.session(database=settings.database) as session:
        started = time.monotonic()
        for statement in CONSTRAINTS:
            session.run(statement).consume()
        choose_vector_index(settings, driver.get_server_info().agent).ensure(driver, settings.database, len(chunks[0]["embedding"]))

        def write(statement, rows):
            for i in range(0, len(rows), 1000):
                session.execute_write(lambda tx, part=rows[i:i + 1000]: tx.run(statement, rows=part).consume())

        write(MERGE_DOCUMENTS, docs)
        t0 = time.monotonic()
        write(MERGE_CHUNKS, chunks)
        chunk_seconds = time.monotonic() - t0
        write(MERGE_LINKS, links)
        return time.monotonic() - started, chunk_seconds


def more_pages(docs: list, chunks: list, links: list, sources: list, tag: str) -> tuple[list, list, list, list]:
    """The same rows as new pages (every id changed, vectors nudged and renormalised): the next batch of
    new pages a running server receives."""
    import numpy as np

    rng = np.random.default_rng(abs(hash(tag)) % 2**32)
    docs = [{**d, "id": f"{d['id']}-{tag}", "url": f"{d['url'] or ''}?{tag}"} for d in docs]
    moved = []
    for c in chunks:
        vector = np.asarray(c["embedding"]) + rng.normal(scale=0.05, size=len(c["embedding"]))
        moved.append({**c, "id": f"{c['id']}-{tag}", "doc_id": f"{c['doc_id']}-{tag}",
                      "embedding": [float(x) for x in vector / np.linalg.norm(vector)]})
    links = [{"source": f"{link['source']}-{tag}", "target": f"{link['target']}-{tag}"} for link in links]
    return docs, moved, links, [f"{s}-{tag}" for s in sources]


WARM_ROUNDS = 12  # writes of new pages per writer on a running server; the medians use the last half


def _measured(server: BoltServer, write, chunks: int) -> dict:
    cpu0 = server.cpu()
    seconds, chunk_seconds = write()
    cpu1 = server.cpu()
    return {"seconds": seconds, "chunk_seconds": chunk_seconds, "chunks": chunks,
            "server_cpu": cpu1[0] - cpu0[0], "client_cpu": cpu1[1] - cpu0[1],
            "jit": cpu1[2] - cpu0[2] if cpu0[2] is not None and cpu1[2] is not None else None}


def _median(label: str, run: str, writes: list[dict]) -> dict:
    """The median write of the last half (the server's JIT compilers are still busy in the first)."""
    import statistics

    last = writes[len(writes) // 2:]
    out = {"what": label, "run": f"{run}, median of {len(last)}"}
    for key in ("seconds", "chunk_seconds", "chunks", "server_cpu", "client_cpu"):
        out[key] = statistics.median(w[key] for w in last)
    out["jit"] = None if last[0]["jit"] is None else statistics.median(w["jit"] for w in last)
    return out


def _sink(writer, rows):
    def write():
        report = writer.write(rows[0], rows[1], rows[2], link_sources=rows[3])
        return report.seconds, report.chunk_seconds

    return write


def graph_rate(docs: list, chunks: list, links: list, sources: list) -> list[dict]:
    """On fresh servers: the first write (a cold server, an empty database) and the same rows again (a
    re-run), for the sink and for the plain-driver baseline; then, on the sink's server, new pages
    written by the sink and by the baseline in turn (the server warm, as it is batch after batch, and
    its JIT shared by both); the same without ArcadeDB's vector index."""
    from dataclasses import replace

    from pipeline_project.defs.web.graph import GraphWriter

    first = (docs, chunks, links, sources)
    fresh = lambda tag: more_pages(*first, tag=tag)  # noqa: E731
    out: list[dict] = []
    with BoltServer() as server:
        for run in ("first write, cold server", "re-run"):
            out.append({"what": "plain driver (baseline)", "run": run, **_measured(
                server, lambda: plain_driver_write(server.settings, docs, chunks, links), len(chunks))})
        with GraphWriter(server.settings) as writer:
            out[-1]["stats"], out[-1]["digest"] = writer.stats(), graph_digest(writer)
    for label, index in (("graph sink", "auto"), ("graph sink, no vector index", "none")):
        with BoltServer() as server, GraphWriter(replace(server.settings, vector_index=index)) as writer:
            for run in ("first write, cold server", "re-run"):
                out.append({"what": label, "run": run, **_measured(server, _sink(writer, first), len(chunks))})
            out[-1]["stats"], out[-1]["digest"] = writer.stats(), graph_digest(writer)
            baseline = "plain driver (baseline)" + label.removeprefix("graph sink")
            warm: dict[str, list] = {label: [], baseline: []}
            for i in range(WARM_ROUNDS):
                warm[label].append(_measured(server, _sink(writer, fresh(f"{index}-sink{i}")), len(chunks)))
                rows = fresh(f"{index}-plain{i}")
                warm[baseline].append(_measured(
                    server, lambda rows=rows: plain_driver_write(writer.settings, *rows[:3]), len(chunks)))
            out += [_median(what, "new pages, warm server", writes) for what, writes in warm.items()]
    return out


def print_graph(results: list[dict], docs: list, chunks: list, links: list) -> None:
    print(f"\ngraph writes to ArcadeDB over Bolt: {len(docs)} documents, {len(chunks)} chunks (384-d vectors), "
          f"{len(links)} links per write; transactions of up to 1,000 rows")
    print(f"{'what':<29} {'run':<39} {'total s':>7} {'chunks/s whole write':>21} {'chunk phase':>12}"
          f" {'CPU s server + client':>22} {'server JIT s':>13}")
    for r in results:
        jit = "" if r["jit"] is None else f"{r['jit']:13.2f}"
        print(f"{r['what']:<29} {r['run']:<39} {r['seconds']:7.2f} {r['chunks'] / r['seconds']:21,.0f}"
              f" {r['chunks'] / r['chunk_seconds']:12,.0f} {r['server_cpu']:13.2f} + {r['client_cpu']:5.2f} {jit}")
    print("whole write: schema check, documents, chunks, pruning, links; chunk phase: the chunks alone. Target ≥ 2,000 chunks/s.\n"
          "server JIT s: time the server JVM's JIT compilers spent during the write (jstat), on the same 2 cores.\n"
          "new pages, warm server: the sink and the baseline take turns on the sink's server (12 writes each).")
    for r in results:
        if "digest" in r:
            print(f"graph after {r['what']} (first write + re-run): {r['stats']['nodes']} {r['stats']['relationships']}"
                  f" digest {r['digest']}")
    digests = {r["digest"] for r in results if "digest" in r and "no vector index" not in r["what"]}
    print("sink and baseline leave the same graph: " + ("yes" if len(digests) == 1 else f"NO ({digests})"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-graph", action="store_true")
    parser.add_argument("--graph-only", action="store_true",
                        help="only the graph writes, with rows built from the generated site (no crawl)")
    args = parser.parse_args()
    if args.graph_only:
        print(f"web benchmark, graph writes only: rows of a {args.pages}-page generated site, {cpu_info()}", flush=True)
        rows = rows_from_site(args.pages)
        print_graph(graph_rate(*rows), *rows[:3])
        return 0
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
        rows = rows_from_warehouse(stream["warehouse"])
        print_graph(graph_rate(*rows), *rows[:3])
    for r in results:  # the runs' storage roots (tens of MB each)
        shutil.rmtree(r["root"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
