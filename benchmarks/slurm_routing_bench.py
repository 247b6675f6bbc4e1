"""SLURM engines on the local test cluster (scripts/slurm/up.sh; settings from .ci-state/slurm/env.sh or
the environment):

1. Born-digital routing: pages sent to the GPU job vs pages read from the text layer, for a
   born-digital corpus (target: 0 sent, no job at all) and a mixed one. Baseline: a plain-Python loop
   reading every page's text layer with PyMuPDF (what routing costs on the Dagster side).
2. Embeddings: local engine vs SLURM engine (one job for the batch) on the same chunk texts, chunks/s
   and cosine between their vectors. Baseline: sentence-transformers encode in one process.

The OCR inside the SLURM job is the CPU stand-in (Tesseract) — no GPU here; routing and job handling
are the production code. Run:  .venv/bin/python benchmarks/slurm_routing_bench.py [--docs 40 --pages 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]
REPORT: list[str] = []  # printed at the end, after the jobs' streamed logs


def load_cluster_env() -> None:
    env_file = Path(os.environ.get("PIPELINE_SLURM_STATE_DIR", ROOT / ".ci-state" / "slurm")) / "env.sh"
    if not env_file.exists():
        sys.exit(f"no cluster settings at {env_file}: run scripts/slurm/up.sh first")
    for line in env_file.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export "):].partition("=")
            os.environ.setdefault(key, value)
    os.environ.setdefault("PIPELINE_SLURM_RETRY_BACKOFF", "0")
    os.environ.setdefault("PIPELINE_SLURM_TIME_LIMIT", "00:30:00")


def inputs_for(paths):
    from pipeline_project.defs.documents.ocr.base import OcrInput

    out = []
    for path in paths:
        import pymupdf

        with pymupdf.open(path) as pdf:
            pages = pdf.page_count
        out.append(OcrInput(hashlib.sha256(path.read_bytes()).hexdigest(), path, path.name, pages))
    return out


def in_asset(name: str, fn):
    """Engines talk to SLURM from an asset (dagster-slurm needs the step's context)."""
    box = {}

    @dg.asset(name=name)
    def probe(context):
        box["result"] = fn(context)
        return dg.MaterializeResult()

    with dg.instance_for_test() as instance:
        dg.materialize([probe], instance=instance)
    return box["result"]


def text_layer_baseline(paths) -> tuple[int, float]:
    import pymupdf

    started, pages = time.perf_counter(), 0
    for path in paths:
        with pymupdf.open(path) as pdf:
            for page in pdf:
                page.get_text("text", sort=True)
                pages += 1
    return pages, time.perf_counter() - started


def routing(tmp: Path, docs: int, pages: int) -> None:
    from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine
    from pipeline_project.samples.mixed_pdfs import born_digital_corpus, mixed_pdf

    engine = SlurmOcrEngine.from_env()
    corpora = {
        "born-digital": born_digital_corpus(tmp / "born", docs, pages),
        "mixed (1 scan in 5)": [mixed_pdf(tmp / "mixed" / f"m{i}.pdf", ("TTSTT" * pages)[:pages], seed=i)
                                for i in range(max(1, docs // 4))],
    }
    REPORT.append(f"\n## routing ({engine.engine_name}; OCR in the job: CPU stand-in for olmOCR)")
    REPORT.append(f"{'corpus':22} {'pages':>6} {'to GPU':>7} {'text layer':>11} {'job':>11} {'seconds':>8} "
          f"{'baseline text-layer pages/s':>28}")
    for label, paths in corpora.items():
        inputs = inputs_for(paths)
        work = tmp / "work" / label.split()[0]
        started = time.perf_counter()
        result = in_asset("routing_bench", lambda ctx: engine.ocr_batch(ctx, "bench", inputs, work))
        seconds = time.perf_counter() - started
        base_pages, base_seconds = text_layer_baseline(paths)
        meta = result.metadata
        total = sum(i.pages for i in inputs)
        REPORT.append(f"{label:22} {total:>6} {meta['pages_sent_to_gpu']:>7} {meta['pages_text_layer']:>11} "
              f"{meta.get('slurm_outcome', '?'):>11} {seconds:>8.2f} {base_pages / base_seconds:>28.0f}")
        if "slurm_overhead_seconds" in meta:
            REPORT.append(f"   job {meta.get('slurm_job_id')}: batch wall {meta['batch_wall_seconds']:.1f} s, payload "
                          f"{meta['payload_seconds']:.1f} s, ssh+queue+Pipes+sacct overhead {meta['slurm_overhead_seconds']:.1f} s")
        if result.failures:
            REPORT.append(f"   failures: {result.failures}")


def embeddings(tmp: Path, chunks: int) -> None:
    import numpy as np

    from pipeline_project.defs.documents.embedding_engines.base import LocalEmbeddingEngine
    from pipeline_project.defs.documents.embedding_engines.slurm import SlurmEmbeddingEngine
    from pipeline_project.lib.embedder import EmbedderResource
    from pipeline_project.samples import paragraph

    rng = random.Random(7)
    texts = [paragraph(rng, 150) for _ in range(chunks)]  # ~200 word pieces, a chunk's size
    embedder = EmbedderResource(threads=os.cpu_count() or 1)
    embedder.embed(texts[:2])  # load the model before timing
    started = time.perf_counter()
    local = np.asarray(LocalEmbeddingEngine().embed_batch(None, "bench", texts, embedder, tmp).vectors)
    local_s = time.perf_counter() - started

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(embedder.model_path, device="cpu")
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    base_s = time.perf_counter() - started

    engine = SlurmEmbeddingEngine.from_env()
    started = time.perf_counter()
    result = in_asset("embed_bench", lambda ctx: engine.embed_batch(ctx, "bench", texts, embedder, tmp / "embed"))
    slurm_s = time.perf_counter() - started
    remote = np.asarray(result.vectors)
    cos = (local * remote).sum(1)  # both L2-normalised
    payload_s = float(result.metadata.get("payload_seconds", 0.0))
    REPORT.append(f"\n## embeddings ({chunks} chunks of ~200 tokens, all-MiniLM-L6-v2)")
    REPORT.append(f"{'engine':34} {'seconds':>8} {'chunks/s':>9}")
    REPORT.append(f"{'baseline (encode, one process)':34} {base_s:>8.2f} {chunks / base_s:>9.1f}")
    REPORT.append(f"{'local engine':34} {local_s:>8.2f} {chunks / local_s:>9.1f}")
    REPORT.append(f"{'slurm engine (job, wall)':34} {slurm_s:>8.2f} {chunks / slurm_s:>9.1f}")
    REPORT.append(f"{'slurm payload only (load+encode)':34} {payload_s:>8.2f} {chunks / payload_s if payload_s else 0:>9.1f}")
    REPORT.append(f"cosine local vs slurm: min {cos.min():.6f} mean {cos.mean():.6f}; job {result.metadata.get('slurm_job_id')} "
          f"device {result.metadata.get('slurm_device')} cpus {engine.cpus}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--skip-embeddings", action="store_true")
    args = parser.parse_args()
    load_cluster_env()
    REPORT.append(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    # the cluster must see the files: a folder under the project (shared with the local cluster)
    tmp = Path(tempfile.mkdtemp(prefix="slurm_bench_", dir=ROOT / ".ci-state"))
    try:
        routing(tmp, args.docs, args.pages)
        if not args.skip_embeddings:
            embeddings(tmp, args.chunks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(["", "=" * 30 + " results " + "=" * 30, *REPORT]))


if __name__ == "__main__":
    main()
