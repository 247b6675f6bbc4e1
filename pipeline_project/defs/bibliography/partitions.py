"""The bibliography runs per OCR batch, like the documents it reads: one partition = one batch of
documents, never one per document or per reference (each Dagster run costs seconds of start-up)."""

from pipeline_project.defs.documents.partitions import ocr_batches

__all__ = ["ocr_batches"]
