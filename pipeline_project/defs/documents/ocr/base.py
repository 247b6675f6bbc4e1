"""The OCR engine interface every engine (local, SLURM/olmOCR) implements.

An engine takes the accepted PDFs of one batch and returns one olmOCR-format record per document
(see documents/olmocr_format.py). Documents it could not read are returned as failures with a reason
a person can read, never raised: one bad document must not sink its batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg


@dataclass(frozen=True)
class OcrInput:
    doc_id: str  # sha256 of the PDF bytes
    pdf_path: Path  # where the engine reads it (the content-addressed store)
    source_file: str  # the name the file arrived with
    pages: int


@dataclass
class OcrBatchResult:
    records: list[dict] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # doc_id -> reason
    metadata: dict = field(default_factory=dict)  # shown on the ocr_jsonl materialization


class OcrEngine(dg.ConfigurableResource):
    """Base class. Subclasses implement `ocr_batch`."""

    @property
    def engine_name(self) -> str:
        return type(self).__name__

    def ocr_batch(
        self,
        context: dg.AssetExecutionContext,
        batch_id: str,
        inputs: list[OcrInput],
        work_dir: Path,
    ) -> OcrBatchResult:
        """OCR every input. `work_dir` is this batch's private scratch folder; it survives a killed
        run, so engines may keep per-document results there and reuse them on re-run."""
        raise NotImplementedError
