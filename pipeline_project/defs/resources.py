"""What the whole code location shares: the resources `storage`, `warehouse`, `embedder` (each
registered once under its key) and the executor of runs that no job names, e.g. runs the automation
and observations sensors launch for an asset selection.

Domain resources live in defs/<domain>/resources.py and nest these same objects (lib/resources.py)."""

import dagster as dg

from pipeline_project.lib.resources import shared


@dg.definitions
def resources() -> dg.Definitions:
    # In-process, as every domain's own job: a step in a process of its own pays ~2 CPU-s and ~300 MiB
    # to import the code location again, and each run's steps form a chain that cannot overlap anyway.
    return dg.Definitions(resources=shared().as_dict(), executor=dg.in_process_executor)
