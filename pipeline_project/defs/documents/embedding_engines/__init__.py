"""Embedding engines behind one interface: `EmbeddingEngine.embed_batch(...)` → one vector per text."""
