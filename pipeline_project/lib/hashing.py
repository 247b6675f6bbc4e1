"""Content hashes of files: the ids of documents, drawing sets and downloads are their sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20  # 1 MiB reads: large PDFs are hashed without holding them in memory


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
