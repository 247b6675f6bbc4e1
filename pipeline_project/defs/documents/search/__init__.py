"""Search over the documents' chunks: a BM25 term table kept per batch, vectors, and their fusion."""
