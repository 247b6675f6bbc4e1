"""Test payload: opens Pipes, writes a traceback like the real payload, then raises."""
import traceback
from pathlib import Path

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    out = Path(pipes.extras["out_dir"])
    try:
        raise RuntimeError("simulated OCR crash: CUDA out of memory")
    except RuntimeError:
        (out / "error.txt").write_text(traceback.format_exc())
        raise
