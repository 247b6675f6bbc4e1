"""SLURM payload: embed one batch's chunk texts inside one SLURM job (started by dagster-slurm).

Runs on the cluster under the pre-deployed env; needs dagster-pipes, numpy and sentence-transformers
there. On a GPU it runs sentence-transformers (torch fp32) on the GPU; on a CPU node it uses the Dagster
side's backend (PIPELINE_EMBEDDING_BACKEND, e.g. OpenVINO) through this project's lib/embedding.py when
the project is importable there (extras["project_src"]), else torch. Reads `texts.jsonl` (one JSON string per line) from its attempt
folder and writes `vectors.npy` (float32, L2-normalised, one row per text, in order) and
`summary.json`, or `error.txt` with the traceback. The model is the same local folder the Dagster
side uses (as the cluster sees it): nothing is downloaded. Uses the GPU when the job has one.
"""

import json
import os
import time
import traceback
from pathlib import Path


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj), encoding="utf-8")
    os.replace(tmp, path)  # the engine never reads a half-written file


def embed(extras: dict, out_dir: Path, log) -> dict:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    import torch

    texts = [json.loads(line) for line in (out_dir / "texts.jsonl").read_text(encoding="utf-8").splitlines()]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = int(os.environ.get("SLURM_CPUS_PER_TASK") or 0) or (os.cpu_count() or 1)
    batch_size = int(extras.get("batch_size") or 32)
    started = time.time()
    vectors, backend = None, "torch"
    if device == "cpu" and extras.get("backend", "torch") != "torch":
        vectors, backend = _project_backend(extras, texts, threads, batch_size, log)
    if vectors is None:  # a GPU, or the torch reference: sentence-transformers fp32
        from sentence_transformers import SentenceTransformer

        if device == "cpu":
            torch.set_num_threads(threads)
        model = SentenceTransformer(extras["model_path"], device=device)
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                               show_progress_bar=False)
    vectors = np.asarray(vectors, dtype=np.float32)
    seconds = time.time() - started
    log(f"{len(texts)} texts embedded with {backend} on {device} ({threads} threads) in {seconds:.1f} s")
    tmp = out_dir / ".vectors.npy.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, vectors)
    os.replace(tmp, out_dir / "vectors.npy")
    return {"texts": len(texts), "dim": int(vectors.shape[1]) if len(texts) else 0, "device": device,
            "backend": backend, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
            "embed_seconds": round(seconds, 3)}


def _project_backend(extras: dict, texts: list, threads: int, batch_size: int, log):
    """On a CPU node, the Dagster side's own backend (e.g. OpenVINO) when the project is importable
    there, so the vectors are the local engine's; otherwise None (torch is used)."""
    import sys

    if extras.get("project_src"):
        sys.path.insert(0, extras["project_src"])
    try:
        from pipeline_project.lib.embedding import encoder
    except ImportError as exc:
        log(f"backend {extras['backend']} not available on this node ({exc}); using torch")
        return None, "torch"
    model = encoder(extras["model_path"], extras["backend"], threads)
    return model.encode(texts, batch_size=batch_size), model.backend


def main() -> None:
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        out_dir = Path(extras["out_dir"])
        job = os.environ.get("SLURM_JOB_ID", "?")
        if job.isdigit():  # lets a retried Dagster run find this job again (lib/slurm_batch.py)
            (out_dir / "job_id").write_text(job, encoding="utf-8")
        started = time.time()
        try:
            summary = embed(extras, out_dir, pipes.log.info)
            summary.update(payload_seconds=round(time.time() - started, 3), node=os.uname().nodename,
                           slurm_job_id=job)
            _write_json(out_dir / "summary.json", summary)
            pipes.log.info(f"done: {json.dumps(summary)}")
        except BaseException:
            (out_dir / "error.txt").write_text(traceback.format_exc()[-4000:], encoding="utf-8")
            raise


if __name__ == "__main__":
    main()
