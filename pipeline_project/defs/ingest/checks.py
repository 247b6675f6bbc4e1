"""The ingest domain's asset check: downloads that ended in the dead letters (HTTP 404, or a host
unreachable for several runs). Answered from the item ledger inside the slice's run."""

from pipeline_project.lib.checks import dead_letters_spec

DEAD_LETTERS_SPEC = dead_letters_spec("downloaded_pdfs", "downloads")
