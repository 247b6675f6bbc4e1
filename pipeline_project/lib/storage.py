"""The storage root and the folders under it (local files on the embedded default)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline_project.lib.settings import data_dir, env_str


class StorageResource(dg.ConfigurableResource):
    """Paths under the storage root ($PIPELINE_DATA_DIR, default ./data)."""

    root: str
    # What happens to a source PDF once its text is verified in the warehouse:
    # "never" keeps the content-addressed store; "after_ingest" deletes it (frees disk for downloads).
    delete_source: str = "never"

    @classmethod
    def from_env(cls) -> "StorageResource":
        return cls(root=str(data_dir()), delete_source=env_str("PIPELINE_DELETE_SOURCE", "never"))

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    def folder(self, *parts: str) -> Path:
        path = self.root_path.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def inbox(self) -> Path:
        """Drop PDFs here."""
        return self.folder("inbox")

    @property
    def quarantine(self) -> Path:
        """Files that could not be read, each with a .reason.txt beside it. Never deleted."""
        return self.folder("quarantine")

    @property
    def pdf_store(self) -> Path:
        """Content-addressed store of accepted PDFs: store/pdfs/<sha[:2]>/<sha>.pdf."""
        return self.folder("store", "pdfs")

    @property
    def batches(self) -> Path:
        """One folder per OCR batch: manifest, intake records, OCR JSONL."""
        return self.folder("batches")

    @property
    def documents_json(self) -> Path:
        """One JSON per OCR'd document (the split of a batch JSONL)."""
        return self.folder("documents")

    @property
    def warehouse_path(self) -> Path:
        return self.root_path / "warehouse.duckdb"
