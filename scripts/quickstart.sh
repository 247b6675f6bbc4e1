#!/usr/bin/env bash
# One command on a fresh machine: install everything, then run the main pipeline (documents) on
# generated sample PDFs with the embedded default (local files, DuckDB, local OCR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PIPELINE_DATA_DIR="${PIPELINE_DATA_DIR:-$PWD/data}"
PP=.venv/bin/pipeline-project
$PP init
$PP sample --with-bad
sleep 1.2  # the batcher ignores files younger than a second (they may still be being copied)
$PP drain
echo
echo "==> semantic search over what was just ingested:"
$PP search "river survey of the bridge" -k 3
cat <<MSG

Results: DuckDB warehouse $PIPELINE_DATA_DIR/warehouse.duckdb (tables pdf_intake, documents, pages,
chunks, embeddings, dead_letters); OCR JSONL per batch under $PIPELINE_DATA_DIR/batches/;
quarantined files with reasons under $PIPELINE_DATA_DIR/quarantine/.

Open the UI (sensors and automation run by themselves; drop PDFs into $PIPELINE_DATA_DIR/inbox/):
  .venv/bin/pipeline-project dev        # then http://127.0.0.1:3000
MSG
