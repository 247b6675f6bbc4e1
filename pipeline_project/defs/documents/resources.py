"""The documents domain's resources, chosen by environment (configuration, not code)."""

from __future__ import annotations

from pipeline_project.defs.documents.ocr.base import OcrEngine
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.lib.settings import env_str


def ocr_engine_from_env() -> OcrEngine:
    """PIPELINE_OCR_ENGINE=local (default: PyMuPDF + Tesseract here) or slurm (olmOCR on a cluster)."""
    engine = env_str("PIPELINE_OCR_ENGINE", "local").lower()
    if engine == "local":
        return LocalOcrEngine()
    if engine == "slurm":
        from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine

        return SlurmOcrEngine.from_env()
    raise ValueError(f"PIPELINE_OCR_ENGINE must be 'local' or 'slurm', not {engine!r}")
