"""The code location: one `defs` merging every domain's assets, checks, jobs, sensors and resources.

Nothing here loads models or scans files: this module is re-imported on every sensor tick and UI reload.
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.defs.documents import definitions as documents
from pipeline_project.defs.ingest import definitions as ingest
from pipeline_project.defs.observations import definitions as observations

defs = dg.Definitions.merge(documents.defs, ingest.defs, observations.defs)
