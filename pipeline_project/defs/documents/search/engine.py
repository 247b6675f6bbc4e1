"""Hybrid search: BM25 over the term table and cosine over the vectors, fused.

Lexical search finds what vectors miss (names, citations, numbers, code, a line pasted from a page);
vectors find what words miss (a question in other words). The candidates of both lists are fused by a
convex combination of normalised scores (Bruch et al., "An Analysis of Fusion Functions for Hybrid
Retrieval", 2023): w x BM25 / the query's BM25 ceiling (the share of the query's weight a chunk
matches) + (1 - w) x cosine, with w set per query from how well its best lexical candidate matches
(as dynamic-alpha hybrid retrieval does). Measured against reciprocal rank fusion
(benchmarks/search_quality_bench.py), which ranks a chunk that is middling in both lists above the one
a pasted line matches exactly; `fusion="rrf"` keeps RRF for comparison.

Free of dagster imports: the CLI calls it directly with a plain DuckDB connection.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline_project.defs.documents.search import index, snippets, sql

MODES = ("hybrid", "vector", "lexical")
RRF_K = 60
CANDIDATES = 50  # from each list, before fusion
# The lexical weight follows how well the best lexical candidate matches: a pasted line or a code matches
# most of the query's BM25 weight (share ≥ 0.7 → LEXICAL_WEIGHT_HIGH), a question in other words little
# of it (≤ 0.35 → LEXICAL_WEIGHT_LOW); linear in between. Measured: one fixed weight traded exact-line
# hit@3 (0.96 at 0.5) against paraphrased hit@3 (0.17 at 0.5, vector alone 0.33; 0.375 at 0.2).
LEXICAL_WEIGHT_LOW, LEXICAL_WEIGHT_HIGH = 0.2, 0.65
SHARE_LOW, SHARE_HIGH = 0.35, 0.7
LEXICAL_WEIGHT = None  # a fixed weight instead (benchmarks compare)
FUSIONS = ("convex", "rrf")


def fuse(lists: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ranked id lists: best first."""
    scores: dict[str, float] = {}
    for ranked in lists:
        for rank, chunk_id in enumerate(ranked, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def convex(lexical: dict[str, float], ceiling: float, cosines: dict[str, float],
           weight: float | None = None) -> list[tuple[str, float]]:
    """Convex combination of the share of the query's BM25 weight matched and the cosine: best first."""
    ceiling = ceiling or 1.0
    if weight is None:
        weight = LEXICAL_WEIGHT if LEXICAL_WEIGHT is not None else lexical_weight(max(lexical.values(), default=0) / ceiling)
    ids = set(lexical) | set(cosines)
    scores = {c: weight * min(lexical.get(c, 0.0) / ceiling, 1.0) + (1 - weight) * max(cosines.get(c, 0.0), 0.0)
              for c in ids}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def lexical_weight(best_share: float) -> float:
    """The lexical weight for a query whose best lexical candidate matches `best_share` of its weight."""
    t = min(max((best_share - SHARE_LOW) / (SHARE_HIGH - SHARE_LOW), 0.0), 1.0)
    return LEXICAL_WEIGHT_LOW + t * (LEXICAL_WEIGHT_HIGH - LEXICAL_WEIGHT_LOW)


def _has_chunks(conn) -> bool:
    return conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'chunks'").fetchone()[0] > 0


def search(open_connection: Callable[[], AbstractContextManager],
           embed: Callable[[list[str]], np.ndarray] | None, model: str, query: str, k: int = 5,
           mode: str = "hybrid", fusion: str = "convex") -> list[dict]:
    """Top-k chunks for `query`. `embed` turns texts into normalised vectors (not needed for lexical)."""
    if mode not in MODES:
        raise ValueError(f"search mode {mode!r}: choose one of {', '.join(MODES)}")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion {fusion!r}: choose one of {', '.join(FUSIONS)}")
    if not query.strip():
        return []
    vector = embed([query])[0] if mode != "lexical" else None  # compute first, then hold the warehouse briefly
    with open_connection() as conn:
        if not _has_chunks(conn):
            return []
        index.catch_up(conn)
        bm25 = dict(conn.execute(sql.BM25, {"query": query, "limit": CANDIDATES}).fetchall()) \
            if mode != "vector" else {}
        lexical = list(bm25)
        scores: dict[str, float] = {}
        vectors: list[str] = []
        if mode != "lexical":
            rows = conn.execute(sql.VECTOR, {"vector": np.asarray(vector, dtype=np.float32).tolist(),
                                             "model": model, "limit": CANDIDATES}).fetchall()
            vectors = [r[0] for r in rows]
            scores = {r[0]: float(r[1]) for r in rows}
        if mode == "hybrid" and fusion == "rrf":
            ranked = fuse([lexical, vectors])[:k]
        elif mode == "hybrid":
            others = [c for c in lexical if c not in scores]  # the cosine of lexical candidates too
            if others:
                scores.update((c, float(v)) for c, v in conn.execute(sql.VECTOR_OF, {
                    "vector": np.asarray(vector, dtype=np.float32).tolist(), "model": model, "ids": others}).fetchall())
            ceiling = conn.execute(sql.BM25_CEILING, {"query": query}).fetchone()[0] if bm25 else 1.0
            ranked = convex(bm25, ceiling, scores)[:k]
        elif mode == "lexical":
            ranked = [(c, float(bm25[c])) for c in lexical[:k]]
        else:
            ranked = [(c, scores[c]) for c in vectors[:k]]
        details = {r[0]: r for r in conn.execute(sql.HITS, {"ids": [c for c, _ in ranked]}).fetchall()}
        spans = [details[c] for c, _ in ranked if c in details and details[c][2] != details[c][3]]
        pages: dict[str, list[tuple[int, str]]] = {}
        if spans:
            for doc_id, page, text in conn.execute(sql.PAGES_OF_HITS, {
                    "docs": [d[1] for d in spans], "first": [d[2] for d in spans], "last": [d[3] for d in spans]}
            ).fetchall():
                pages.setdefault(doc_id, []).append((page, text))
    ranks = {"lexical": {c: i for i, c in enumerate(lexical, 1)}, "vector": {c: i for i, c in enumerate(vectors, 1)}}
    rows = [(details[c], score) for c, score in ranked if c in details]
    located = _locate(query, vector, [r for r, _ in rows], pages, embed)
    return [_hit(row, score, query, mode, located[row[0]], ranks, scores.get(row[0])) for row, score in rows]


def _locate(query: str, vector, rows: list, pages: dict, embed) -> dict[str, tuple[int, str]]:
    """chunk id → (the page its match is on, the chunk's text on that page).

    The query's whole text on one page decides; else, when there are vectors, the page whose part of the
    chunk is closest in meaning to the query (plus the share of the query's words it holds); else the
    page with the most query words."""
    located, undecided = {}, []
    for chunk_id, doc_id, first, last, text, _ in rows:
        parts = [(p, _overlap(text, t)) for p, t in sorted(pages.get(doc_id, [])) if first <= p <= last]
        page = snippets.exact_page(query, parts)
        if page is None and len(parts) > 1 and vector is not None and embed is not None:
            undecided.append((chunk_id, parts))
            continue
        page = page if page is not None else snippets.best_page(query, parts, first)
        located[chunk_id] = (page, dict(parts).get(page, text))
    if undecided:
        flat = [part for _, parts in undecided for _, part in parts]
        sims = iter(np.asarray(embed(flat)) @ np.asarray(vector, dtype=np.float32))
        for chunk_id, parts in undecided:
            scored = [(next(sims) + 0.5 * snippets.word_share(query, part), part_page, part) for part_page, part in parts]
            _, page, part = max(scored, key=lambda s: (s[0], -s[1]))
            located[chunk_id] = (page, part)
    return located


def _hit(row, score: float, query: str, mode: str, located: tuple[int, str], ranks: dict,
         cosine: float | None) -> dict:
    chunk_id, doc_id, first, last, text, source = row
    url = source if (source or "").startswith(("http://", "https://")) else None  # a crawled web page
    # the snippet comes from the chunk's part of the hit's page when the chunk spans pages
    page, source_text = located
    snippet, highlights = snippets.snippet(source_text, query)
    return {
        "score": round(float(score), 4), "mode": mode,
        "source_type": "web" if url else "pdf",
        "source_file": url or Path(source or "").name, "url": url, "path": None if url else source,
        "doc_id": doc_id, "page": page, "page_start": first, "page_end": last, "chunk_id": chunk_id,
        "snippet": snippet, "highlights": highlights,
        "lexical_rank": ranks["lexical"].get(chunk_id), "vector_rank": ranks["vector"].get(chunk_id),
        "cosine": None if cosine is None else round(cosine, 4),
        "text": text,
    }


def _overlap(chunk: str, page_text: str) -> str:
    """The chunk's words that are on the page, in order (its part of that page)."""
    page_words = set(page_text.split())
    return " ".join(w for w in chunk.split() if w in page_words) or page_text
