"""PDF intake → OCR batches → OCR JSONL → documents → chunks → embeddings."""
