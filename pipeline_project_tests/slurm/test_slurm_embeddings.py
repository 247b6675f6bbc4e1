"""PIPELINE_EMBEDDING_ENGINE=slurm: a batch's embeddings run as one job on the real local cluster with
the bundled model, on the (fake, see scripts/slurm/start-slurm.sh) GPU gres when asked, and give the
local engine's vectors."""

import subprocess

import dagster as dg
import numpy as np
import pytest

from pipeline_project import samples
from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.embedding_engines.base import LocalEmbeddingEngine
from pipeline_project.defs.documents.embedding_engines.slurm import SlurmEmbeddingEngine
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project_tests.defs.documents.helpers import claim_inbox, table

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(400, method="thread")]

TEXTS = [f"Inspection {n}: the {w} of pier {n % 7} was {s}." for n, (w, s) in enumerate(
    [("bearing", "replaced"), ("deck", "resurfaced"), ("cable", "tensioned"), ("railing", "painted")] * 6)]
TEXTS += ["", "Ünïcödé — 中文 text, and a very long sentence " + "word " * 400]


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_batch_embeds_as_one_gpu_job_with_the_local_vectors(slurm_env, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_SLURM_EMBED_GPUS", "1")
    engine, embedder, box = SlurmEmbeddingEngine.from_env(), EmbedderResource(), {}

    @dg.asset(name="embed_probe")
    def embed_probe(context: dg.AssetExecutionContext):
        box["result"] = engine.embed_batch(context, "batch-e", TEXTS, embedder, tmp_path / "work")
        return dg.MaterializeResult()

    with dg.instance_for_test() as instance:
        assert dg.materialize([embed_probe], instance=instance).success
    result = box["result"]
    local = LocalEmbeddingEngine().embed_batch(None, "batch-e", TEXTS, embedder, tmp_path).vectors
    assert np.asarray(result.vectors).shape == (len(TEXTS), 384)
    assert cosines(result.vectors, local).min() >= 0.9999
    meta = result.metadata
    assert meta["embedding_engine"] == "slurm" and meta["slurm_state"] == "COMPLETED"
    assert meta["backend"].startswith(embedder.running_backend())  # the job used the local engine's backend
    tres = subprocess.run(["sacct", "-X", "-n", "-P", "-j", str(meta["slurm_job_id"]), "-o", "AllocTRES"],
                          capture_output=True, text=True, check=True).stdout
    assert "gres/gpu=1" in tres  # the job held a GPU (a dummy device here: no CUDA, so it ran on CPU)


def test_documents_chain_embeds_on_slurm(slurm_env, instance, resources, storage, monkeypatch):
    monkeypatch.setenv("PIPELINE_EMBEDDING_ENGINE", "slurm")
    samples.born_digital_pdf(storage.inbox / "report.pdf", pages=3)
    batch_id = claim_inbox(instance, storage)

    result = dg.materialize(documents_assets, partition_key=batch_id, instance=instance, resources=resources)

    assert result.success
    (mat,) = [m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == "embeddings"]
    meta = {k: v.value for k, v in mat.materialization.metadata.items()}
    assert meta["embedding_engine"] == "slurm" and meta["slurm_job"] == "submitted"
    rows = table(storage, "SELECT c.text, e.embedding FROM chunks c JOIN embeddings e USING (chunk_id) "
                          "ORDER BY c.chunk_id")
    assert len(rows) == meta["embedded"] > 0
    local = LocalEmbeddingEngine().embed_batch(None, batch_id, [t for t, _ in rows], EmbedderResource(), storage.root_path)
    assert cosines([v for _, v in rows], local.vectors).min() >= 0.9999
