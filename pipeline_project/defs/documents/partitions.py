"""One partition = one OCR batch (many documents, ≥ min_pages), never one per document: Dagster
costs ~2.5 CPU-s per run and SQLite storage fails near 36K dynamic partitions."""

import dagster as dg

ocr_batches = dg.DynamicPartitionsDefinition(name="ocr_batches")
