"""What every domain shares, once: storage, warehouse and embedder resources, the item ledger,
quarantine, runs in flight, atomic writes, settings and the Dagster instance."""
