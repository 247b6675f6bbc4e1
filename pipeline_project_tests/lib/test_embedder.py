"""The embedding backends: the fast ones agree with torch fp32, a missing one falls back, one model slot per machine."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pytest

from pipeline_project.lib import embedding
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.home import EMBEDDING_POOL, ensure_pools

SENTENCES = ["Inspection found corrosion on the third pier of the river bridge.",
             "The quarterly audit recorded late invoices.",
             "def main(argv): return parse(argv) or 2",
             "Volunteers planted oak saplings in the park.",
             "rust damage on a support of the crossing over the water"]


def test_every_backend_gives_the_same_vectors_as_torch():
    reference = EmbedderResource(backend="torch").embed(SENTENCES)
    assert reference.shape == (5, 384)
    for backend in ("openvino", "onnx"):
        embedder = EmbedderResource(backend=backend)
        vectors = embedder.embed(SENTENCES)
        assert embedder.running_backend() == backend
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
        assert np.min(np.sum(vectors * reference, axis=1)) > 0.99, backend
        # the nearest sentence of the paraphrase is the bridge, as with torch
        assert int(np.argmax(vectors[:4] @ vectors[4])) == 0


def test_an_unknown_backend_is_refused_and_a_missing_one_falls_back(monkeypatch):
    monkeypatch.setenv("PIPELINE_EMBEDDING_BACKEND", "gpu-magic")
    with pytest.raises(ValueError, match="choose one of"):
        embedding.backend_from_env()

    def unavailable(path, threads):
        raise ImportError("openvino is not installed")

    monkeypatch.setattr(embedding.OnnxEncoder, "_openvino", staticmethod(unavailable))
    embedding._encoder.cache_clear()
    try:
        assert EmbedderResource(backend="openvino", threads=1).running_backend() == "onnx"
    finally:
        embedding._encoder.cache_clear()


def test_the_export_is_made_once_from_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_MODELS_DIR", str(tmp_path))
    path = embedding.resolve_model_path(embedding.DEFAULT_MODEL)
    first = embedding.onnx_path(path, "openvino")
    assert first.exists() and first.parent.parent == tmp_path
    stamp = first.stat().st_mtime_ns
    assert embedding.onnx_path(path, "onnx") == first and first.stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="never downloads"):
        embedding.resolve_model_path("sentence-transformers/some-other-model")


def test_one_embedding_model_slot_per_machine_unless_the_user_changed_it():
    from pipeline_project.defs.documents.assets import embeddings

    assert embeddings.op.pool == EMBEDDING_POOL
    with dg.instance_for_test() as instance:
        ensure_pools(instance)
        assert instance.event_log_storage.get_concurrency_info(EMBEDDING_POOL).slot_count == 1
        instance.event_log_storage.set_concurrency_slots(EMBEDDING_POOL, 2)
        ensure_pools(instance)
        assert instance.event_log_storage.get_concurrency_info(EMBEDDING_POOL).slot_count == 2
