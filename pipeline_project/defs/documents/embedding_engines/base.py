"""The embedding engine interface (like the OCR one in ocr/base.py) and the embedded default.

An engine turns the texts of one batch's chunks into L2-normalised float32 vectors, one row per
text, in order, with the model the `embedder` resource names. `local` embeds in this process;
`slurm` runs the batch as one job on a cluster (embedding_engines/slurm.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg


@dataclass
class EmbeddingBatchResult:
    vectors: list  # one float32 row per text (a numpy array or a list of rows)
    metadata: dict = field(default_factory=dict)  # shown on the embeddings materialization


class EmbeddingEngine(dg.ConfigurableResource):
    """Base class. Subclasses implement `embed_batch`."""

    @property
    def engine_name(self) -> str:
        return type(self).__name__

    def embed_batch(self, context, batch_id: str, texts: list[str], embedder, work_dir: Path) -> EmbeddingBatchResult:
        """Embed every text. `work_dir` is the batch's scratch folder; it survives a killed run."""
        raise NotImplementedError


class LocalEmbeddingEngine(EmbeddingEngine):
    """The embedder resource, in this process (the default)."""

    slice_size: int = 512  # texts per call: progress shows in the run log while a big batch embeds

    @property
    def engine_name(self) -> str:
        return "local"

    def embed_batch(self, context, batch_id, texts, embedder, work_dir) -> EmbeddingBatchResult:
        vectors: list = []
        for start in range(0, len(texts), self.slice_size):
            vectors.extend(embedder.embed(texts[start:start + self.slice_size]))
            if context is not None:
                context.log.info(f"embedded {min(start + self.slice_size, len(texts))}/{len(texts)} chunks of {batch_id}")
        return EmbeddingBatchResult(vectors, {"embedding_engine": self.engine_name})
