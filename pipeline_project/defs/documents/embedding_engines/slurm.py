"""Embedding engine that runs a batch's embeddings as ONE SLURM job (dagster-slurm), on a GPU when
PIPELINE_SLURM_EMBED_GPUS asks for one (--gres=gpu:N).

The texts go to the job through the batch's work folder (a filesystem both sides see); the job
writes the vectors back as one .npy. Same model folder, same normalisation as the local engine, so
the vectors are the same (cosine ≥ 0.9999, checked by the tests and the benchmark). Submission,
retries and reattaching after a killed run: pipeline_project.lib.slurm_batch.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_project.defs.documents.embedding_engines.base import EmbeddingBatchResult, EmbeddingEngine
from pipeline_project.lib.atomic import atomic_path
from pipeline_project.lib.settings import env_int, env_str
from pipeline_project.lib.slurm_batch import SlurmCluster, cluster_settings_from_env, fingerprint

PAYLOAD = Path(__file__).with_name("payload.py")
PROJECT_ROOT = Path(__file__).resolve().parents[4]


class SlurmEmbeddingFailed(RuntimeError):
    pass


class SlurmEmbeddingEngine(SlurmCluster, EmbeddingEngine):
    """sentence-transformers on a SLURM node. Settings: see `from_env` and docs/SLURM.md."""

    model_path: str = ""  # the model folder as the cluster sees it; "" = the embedder's, via path_map

    @property
    def engine_name(self) -> str:
        return "slurm"

    @classmethod
    def from_env(cls) -> "SlurmEmbeddingEngine":
        settings = cluster_settings_from_env()
        settings.update(
            gpus=env_int("PIPELINE_SLURM_EMBED_GPUS", 0),
            cpus=env_int("PIPELINE_SLURM_EMBED_CPUS", settings["cpus"]),
            mem=env_str("PIPELINE_SLURM_EMBED_MEM", settings["mem"]),
            time_limit=env_str("PIPELINE_SLURM_EMBED_TIME_LIMIT", settings["time_limit"]),
            payload_path=env_str("PIPELINE_SLURM_EMBED_PAYLOAD", ""),
            model_path=env_str("PIPELINE_SLURM_EMBED_MODEL_PATH", ""),
        )
        return cls(**settings)

    def embed_batch(self, context, batch_id, texts, embedder, work_dir) -> EmbeddingBatchResult:
        import numpy as np

        meta = {"embedding_engine": self.engine_name, "slurm_gpus": self.gpus}
        if not texts:
            return EmbeddingBatchResult(np.zeros((0, 0), dtype=np.float32), dict(meta, slurm_outcome="not_needed"))
        model_path = self.model_path or self.to_cluster(embedder.model_path)

        def prepare(out_dir: Path) -> dict:
            with atomic_path(out_dir / "texts.jsonl") as tmp, open(tmp, "w", encoding="utf-8") as fh:
                for text in texts:
                    fh.write(json.dumps(text, ensure_ascii=False) + "\n")
            return {"batch_id": batch_id, "model_path": model_path, "batch_size": embedder.batch_size,
                    "backend": embedder.backend_name(), "project_src": self.project_src or self.to_cluster(PROJECT_ROOT)}

        key = fingerprint({"texts": fingerprint(texts), "model": model_path, "backend": embedder.backend_name()})
        outcome = self.run_batch_job(context, label=f"embeddings {batch_id}", work_dir=Path(work_dir) / "embed_slurm",
                                     inputs_fingerprint=key, prepare=prepare, payload=PAYLOAD)
        if not outcome.ok:  # the step fails (and is retried) rather than store a batch without vectors
            raise SlurmEmbeddingFailed(f"SLURM embeddings of {batch_id} gave up after {outcome.attempts} "
                                       f"attempt(s): {outcome.reason}")
        vectors = np.load(outcome.out_dir / "vectors.npy")
        if vectors.shape[0] != len(texts):
            raise SlurmEmbeddingFailed(f"job {outcome.job_id} returned {vectors.shape[0]} vectors for {len(texts)} texts")
        summary = outcome.summary()
        meta.update({"slurm_outcome": "completed", "slurm_job": outcome.how, "slurm_job_id": outcome.job_id,
                     "slurm_attempts": outcome.attempts, "slurm_device": summary.get("device", ""),
                     "backend": f"{summary.get('backend', '?')} on the SLURM node ({summary.get('device', '?')})",
                     "payload_seconds": summary.get("payload_seconds", 0.0), **outcome.metadata})
        if outcome.history:
            meta["slurm_attempt_history"] = json.dumps(outcome.history)
        return EmbeddingBatchResult(vectors, {k: v for k, v in meta.items() if v is not None})
