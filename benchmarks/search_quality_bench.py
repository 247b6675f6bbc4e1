"""Retrieval quality per search mode, over real text on this machine's disk and generated text.

Corpus (pipeline_project/samples/search.py): the PDFs Debian packages install under /usr/share/doc, plain-
text manuals, release notes and licences typeset into multi-page PDFs, and generated pages each carrying
one fact. It goes through the real documents chain (`pipeline-project drain`: intake, text layer,
chunking, embedding, lexical index) into a fresh data dir, then every query is searched in each mode.

Queries: exact-line (a line copied from a page, unique in the corpus) and paraphrased (a question about
a generated fact in other words). A hit counts when the right document AND the right page are among
the top 1 / top 3. "vector, chunk's first page" is the search as it was before hybrid search: vectors
only, each hit reporting the first page of its chunk.

    .venv/bin/python benchmarks/search_quality_bench.py [--exact 150]

Targets (issue 11): exact-line hit@3 ≥ 0.95 with hybrid; paraphrased hit@3 (hybrid) ≥ vector-only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "search_quality"
BIN = Path(sys.executable).parent


def build(data: Path, exact: int):
    from pipeline_project.samples.search import build_corpus, queries

    shutil.rmtree(data, ignore_errors=True)
    corpus = build_corpus(OUT / "corpus")
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"),
               PYTHONPATH=str(ROOT))
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    inbox = data / "inbox"
    for pdf in corpus:
        shutil.copy(pdf, inbox / pdf.name)
    old = time.time() - 60  # the batcher leaves files that may still be being copied
    for pdf in inbox.iterdir():
        os.utime(pdf, (old, old))
    started = time.perf_counter()
    subprocess.run([str(BIN / "pipeline-project"), "drain"], env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"corpus: {len(corpus)} PDFs drained in {time.perf_counter() - started:.0f} s")
    return queries(corpus, exact=exact)


def searcher(data: Path):
    from pipeline_project.defs.documents.search import engine
    from pipeline_project.defs.documents.search.service import open_database
    from pipeline_project.lib import embedding

    enc = embedding.encoder(embedding.resolve_model_path(embedding.DEFAULT_MODEL), embedding.backend_from_env(),
                            os.cpu_count() or 1)
    return lambda text, mode, fusion: engine.search(lambda: open_database(data / "warehouse.duckdb"), enc.encode,
                                                    embedding.DEFAULT_MODEL, text, k=3, mode=mode, fusion=fusion)


def score(search, queries, mode: str, first_page: bool = False, fusion: str = "convex") -> dict:
    found = {}
    for q in queries:
        hits = search(q.text, mode, fusion)
        ranks = [i for i, h in enumerate(hits, 1)
                 if h["source_file"] == q.file and (h["page_start"] if first_page else h["page"]) == q.page]
        found.setdefault(q.kind, []).append(ranks[0] if ranks else None)
    return {kind: (sum(r == 1 for r in rs) / len(rs), sum(r is not None for r in rs) / len(rs), len(rs))
            for kind, rs in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exact", type=int, default=150, help="exact-line queries (default 150)")
    parser.add_argument("--reuse", action="store_true", help="search the corpus drained by the last run")
    parser.add_argument("--weights", default="0.2,0.5", help="fixed lexical weights of the convex fusion to compare")
    args = parser.parse_args()
    data = OUT / "data"
    os.environ["PIPELINE_DATA_DIR"] = str(data)
    print(f"load: {os.getloadavg()}")
    if args.reuse and (data / "warehouse.duckdb").exists():
        from pipeline_project.samples.search import queries as make_queries

        queries = make_queries(sorted((OUT / "corpus").glob("*.pdf")), exact=args.exact)
    else:
        queries = build(data, args.exact)
    from pipeline_project.defs.documents.search import engine

    search = searcher(data)
    rows = [("hybrid (convex, weight per query: default)", score(search, queries, "hybrid"))]
    for weight in [float(w) for w in args.weights.split(",") if w]:
        default, engine.LEXICAL_WEIGHT = engine.LEXICAL_WEIGHT, weight
        rows.append((f"hybrid (convex, lexical weight {weight})", score(search, queries, "hybrid")))
        engine.LEXICAL_WEIGHT = default
    rows.append(("hybrid (reciprocal rank fusion)", score(search, queries, "hybrid", fusion="rrf")))
    rows += [(mode, score(search, queries, mode)) for mode in ("lexical", "vector")]
    rows.append(("vector, chunk's first page (before)", score(search, queries, "vector", first_page=True)))
    print(f"\n{'mode':<48} {'exact hit@1':>11} {'exact hit@3':>11} {'para hit@1':>10} {'para hit@3':>10}")
    for mode, s in rows:
        e, p = s.get("exact", (0, 0, 0)), s.get("paraphrase", (0, 0, 0))
        print(f"{mode:<48} {e[0]:>11.3f} {e[1]:>11.3f} {p[0]:>10.3f} {p[1]:>10.3f}")
    print(f"({rows[0][1]['exact'][2]} exact-line queries, {rows[0][1].get('paraphrase', (0, 0, 0))[2]} paraphrased; "
          "a hit = right document and page)")


if __name__ == "__main__":
    main()
