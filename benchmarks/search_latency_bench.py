"""How fast a search answers: `pipeline-project search` (alone, and asking the running web server) and the
web server's JSON endpoint warm (p50/p95 over 50 queries).

Searches the corpus benchmarks/search_quality_bench.py drained (run that first), with queries taken from
its pages. The server is the project's own (python -m pipeline_project.lib.web) on a free loopback port.

    .venv/bin/python benchmarks/search_latency_bench.py [--queries 50 --cli-runs 5]

Targets (issue 11): CLI search ≤ 2 s; server search ≤ 200 ms warm (p95 over 50 queries).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "out" / "search_quality" / "data"
CORPUS = ROOT / "benchmarks" / "out" / "search_quality" / "corpus"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(query: str, env: dict, *extra: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) of one `pipeline-project search`, and who answered."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([str(BIN / "pipeline-project"), "search", query, "--json", *extra], env=env,
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr.strip().rsplit("answered by the ", 1)[-1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "pipeline_project.lib.web", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the web server did not start")


def ask(port: int, query: str, mode: str = "hybrid") -> float:
    url = f"http://127.0.0.1:{port}/api/v1/documents/search?" + urllib.parse.urlencode({"q": query, "mode": mode})
    t0 = time.perf_counter()
    json.loads(urllib.request.urlopen(url, timeout=120).read())
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--cli-runs", type=int, default=5)
    args = parser.parse_args()
    if not (DATA / "warehouse.duckdb").exists():
        sys.exit("run benchmarks/search_quality_bench.py first (it drains the corpus searched here)")
    from pipeline_project.samples.search import queries as make_queries

    queries = [q.text for q in make_queries(sorted(CORPUS.glob("*.pdf")), exact=args.queries)][:args.queries]
    port = free_port()
    env = dict(os.environ, PIPELINE_DATA_DIR=str(DATA), PYTHONPATH=str(ROOT), PIPELINE_API_URL=f"http://127.0.0.1:{port}")
    env.pop("PIPELINE_API_TOKEN", None)
    print(f"load: {os.getloadavg()}  cores: {os.cpu_count()}")
    alone = [cli(q, env, "--no-server") for q in queries[:args.cli_runs]]
    print(f"CLI search, no server     : median {statistics.median(w for w, _, _ in alone):.2f} s wall, "
          f"{statistics.median(c for _, c, _ in alone):.2f} s CPU ({len(alone)} runs)")
    torch_env = dict(env, PIPELINE_EMBEDDING_BACKEND="torch")
    before = [cli(q, torch_env, "--no-server") for q in queries[:2]]
    print(f"CLI search, torch backend : median {statistics.median(w for w, _, _ in before):.2f} s wall, "
          f"{statistics.median(c for _, c, _ in before):.2f} s CPU (the model load search used to pay)")
    server = start_server(env, port)
    try:
        ask(port, "warm up")
        served = [cli(q, env) for q in queries[:args.cli_runs]]
        assert all(who.startswith("server") for _, _, who in served), served
        print(f"CLI search via the server : median {statistics.median(w for w, _, _ in served):.2f} s wall, "
              f"{statistics.median(c for _, c, _ in served):.2f} s CPU")
        for mode in ("hybrid", "lexical", "vector"):
            times = sorted(ask(port, q, mode) for q in queries)
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
            print(f"server {mode:<7} (warm)     : p50 {statistics.median(times) * 1000:.0f} ms, "
                  f"p95 {p95 * 1000:.0f} ms over {len(times)} queries")
    finally:
        server.terminate()
        server.wait(timeout=30)
    import duckdb

    with duckdb.connect(str(DATA / "warehouse.duckdb"), read_only=True) as conn:
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    print(f"(corpus: {chunks} chunks)")


if __name__ == "__main__":
    main()
