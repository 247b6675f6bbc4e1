"""The documents domain's resource: which OCR engine reads the batches (configuration, not code).

PIPELINE_OCR_ENGINE=local (default: PyMuPDF text layer + Tesseract here) or slurm (olmOCR on a cluster).
The engines themselves live in ocr/ (base.py is the interface).
PIPELINE_EMBEDDING_ENGINE=local (default: the embedder in the run's process) or slurm (one job per
batch on the cluster); engines in embedding_engines/ (base.py is the interface).
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.documents.embedding_engines.base import EmbeddingEngine, LocalEmbeddingEngine
from pipeline_project.defs.documents.ocr.base import OcrEngine
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.lib.resources import shared
from pipeline_project.lib.settings import env_str


def ocr_engine_from_env() -> OcrEngine:
    engine = env_str("PIPELINE_OCR_ENGINE", "local").lower()
    if engine == "local":
        return LocalOcrEngine()
    if engine == "slurm":
        from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine

        return SlurmOcrEngine.from_env()
    raise ValueError(f"PIPELINE_OCR_ENGINE must be 'local' or 'slurm', not {engine!r}")


def embedding_engine_from_env() -> EmbeddingEngine:
    """Read when the embeddings step runs, so switching engines needs no reload of the code location."""
    engine = env_str("PIPELINE_EMBEDDING_ENGINE", "local").lower()
    if engine == "local":
        return LocalEmbeddingEngine()
    if engine == "slurm":
        from pipeline_project.defs.documents.embedding_engines.slurm import SlurmEmbeddingEngine

        return SlurmEmbeddingEngine.from_env()
    raise ValueError(f"PIPELINE_EMBEDDING_ENGINE must be 'local' or 'slurm', not {engine!r}")


def documents_resources() -> dict:
    """Every resource the documents assets use, for running them outside the daemon (drain, CLI)."""
    return {**shared().as_dict(), "ocr_engine": ocr_engine_from_env()}


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"ocr_engine": ocr_engine_from_env()})
