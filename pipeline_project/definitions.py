"""The code location: one `defs` merging every domain's assets, checks, jobs, sensors and resources.

Nothing here loads models or scans files: this module is re-imported on every sensor tick and UI reload.
"""

from __future__ import annotations

import dagster as dg

from pipeline_project.documents.definitions import defs as documents_defs
from pipeline_project.observations.definitions import defs as observations_defs

defs = dg.Definitions.merge(documents_defs, observations_defs)
