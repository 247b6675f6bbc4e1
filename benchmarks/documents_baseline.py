"""The plain-Python baseline for documents_bench.py: the same work with the same libraries in one
process, no Dagster: validate and hash each PDF, text layer or Tesseract per page, chunk, embed,
insert into DuckDB. Prints one JSON line: seconds, peak_rss, chunks."""

from __future__ import annotations

import hashlib
import os
import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa


def main(corpus: Path, out: Path) -> None:
    from pipeline_project.defs.documents.chunking import chunk_document
    from pipeline_project.defs.documents.intake import inspect_pdf
    from pipeline_project.defs.documents.ocr.base import OcrInput
    from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
    from pipeline_project.lib.embedder import EmbedderResource

    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    inputs = []
    for path in sorted(corpus.iterdir()):
        verdict = inspect_pdf(path)
        if verdict.ok:
            doc_id = hashlib.sha256(path.read_bytes()).hexdigest()
            inputs.append(OcrInput(doc_id, path, path.name, verdict.pages))
    records = LocalOcrEngine().ocr_batch(None, "baseline", inputs, out / "work").records
    embedder = EmbedderResource(threads=os.cpu_count() or 1)  # one process: every core
    tokenizer = embedder.tokenizer()
    chunks = [c for r in records for c in chunk_document(r["metadata"]["doc_id"], r["text"],
                                                        r["attributes"]["pdf_page_numbers"], tokenizer)]
    vectors = embedder.embed([c.text for c in chunks])
    matrix = np.asarray(vectors, dtype=np.float32)
    arrow_chunks = pa.table({  # noqa: F841 (read by DuckDB by name below)
        "chunk_id": [c.chunk_id for c in chunks], "doc_id": [c.doc_id for c in chunks],
        "text": [c.text for c in chunks],
        "embedding": pa.ListArray.from_arrays(pa.array(np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32)),
                                              pa.array(matrix.ravel())),
    })
    with duckdb.connect(str(out / "baseline.duckdb")) as conn:
        conn.execute("CREATE TABLE chunks AS SELECT * FROM arrow_chunks")
    seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_rss": peak, "chunks": len(chunks)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
