"""Test payload: waits 40 s in the queue's place (a long GPU job, shortened), then does the real OCR
payload's work. Gives a test time to kill the Dagster run while the job is RUNNING."""
import time

time.sleep(40)

from pipeline_project.defs.documents.ocr.olmocr_payload import main  # noqa: E402  (PYTHONPATH: activate.sh)

main()
