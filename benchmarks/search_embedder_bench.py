"""Embedding backends side by side: torch fp32 (sentence-transformers), OpenVINO, ONNX Runtime fp32 and int8.

Evaluation set: real text on this machine (Debian PDFs, manuals, release notes, licences) chunked the way the
pipeline chunks it (200 model tokens, 40 overlap). Each backend runs in its own process (so its peak RSS
is its own), embeds every chunk with every core, and writes its vectors; then this script prints
chunks/s, load time, peak RSS, and quality against torch fp32: mean (and minimum) cosine of each chunk's
two vectors, and the mean overlap of each chunk's 10 nearest neighbours.

    .venv/bin/python benchmarks/search_embedder_bench.py [--chunks 800]

Targets (issue 11): chosen backend ≥ 2× torch fp32 chunks/s; mean cosine ≥ 0.99; top-10 overlap ≥ 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "search"
BACKENDS = ("torch", "openvino", "onnx", "onnx-int8")


def eval_texts(n: int) -> list[str]:
    from pipeline_project.defs.documents.chunking import chunk_document
    from pipeline_project.lib.embedding import load_tokenizer, resolve_model_path
    from pipeline_project.samples.search import real_texts

    tokenizer = load_tokenizer(resolve_model_path("all-MiniLM-L6-v2"))
    texts: list[str] = []
    for name, text in real_texts(40).items():
        texts += [c.text for c in chunk_document(name, text, [], tokenizer)]
    return texts[:n]


def one(backend: str, n: int) -> None:
    """Child process: load `backend`, embed the set, save the vectors, print figures as JSON."""
    from pipeline_project.lib.embedding import encoder, onnx_path, resolve_model_path

    texts = eval_texts(n)
    path = resolve_model_path("all-MiniLM-L6-v2")
    if backend != "torch":
        onnx_path(path, backend)  # export/quantize outside the timed part (done once per machine)
    t0 = time.perf_counter()
    enc = encoder(path, backend, os.cpu_count() or 1)
    enc.encode(texts[:8])
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = enc.encode(texts, batch_size=32)
    seconds = time.perf_counter() - t0
    np.save(OUT / f"vectors_{backend}.npy", vectors)
    print(json.dumps({"backend": enc.backend, "chunks": len(texts), "load_s": round(loaded, 2),
                      "chunks_per_s": round(len(texts) / seconds, 1),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def neighbour_overlap(ref: np.ndarray, other: np.ndarray, k: int = 10) -> float:
    def top(m):
        sims = m @ m.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :k]
    a, b = top(ref), top(other)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=800)
    parser.add_argument("--one", choices=BACKENDS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.one:
        one(args.one, args.chunks)
        return
    print(f"load: {os.getloadavg()}  cores: {os.cpu_count()}")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    rows = {}
    for backend in BACKENDS:
        out = subprocess.run([sys.executable, __file__, "--one", backend, "--chunks", str(args.chunks)],
                             env=env, check=True, capture_output=True, text=True).stdout
        rows[backend] = json.loads(out.strip().splitlines()[-1])
    ref = np.load(OUT / "vectors_torch.npy")
    base = rows["torch"]["chunks_per_s"]
    print(f"{'backend':<10} {'chunks/s':>9} {'× torch':>8} {'load s':>7} {'RSS MiB':>8} {'mean cos':>9} "
          f"{'min cos':>8} {'top10':>6}")
    for backend, row in rows.items():
        vec = np.load(OUT / f"vectors_{backend}.npy")
        cos = np.sum(ref * vec, axis=1)
        print(f"{backend:<10} {row['chunks_per_s']:>9} {row['chunks_per_s'] / base:>8.2f} {row['load_s']:>7} "
              f"{row['peak_rss_mib']:>8} {cos.mean():>9.4f} {cos.min():>8.4f} {neighbour_overlap(ref, vec):>6.3f}")
    print(f"({rows['torch']['chunks']} chunks of real text, every core, batch 32)")


if __name__ == "__main__":
    main()
