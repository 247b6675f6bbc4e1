"""Test payload: holds the job RUNNING (a long GPU job, in effect) until the test releases it by creating
<cluster state dir>/release/<SLURM_JOB_ID> (at most 5 minutes), then does the real OCR payload's work.
Lets a test kill the Dagster run while the job runs and see the retry reattach to it."""
import os
import time
from pathlib import Path

# activate.sh (scripts/slurm/up.sh) sets VIRTUAL_ENV=<state dir>/cluster_env/env
release = Path(os.environ["VIRTUAL_ENV"]).parents[1] / "release" / os.environ.get("SLURM_JOB_ID", "?")
deadline = time.monotonic() + 300
while not release.exists() and time.monotonic() < deadline:
    time.sleep(0.5)

from pipeline_project.defs.documents.ocr.olmocr_payload import main  # noqa: E402  (PYTHONPATH: activate.sh)

main()
