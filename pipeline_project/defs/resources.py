"""The shared resources, each registered once under its key: `storage`, `warehouse`, `embedder`.

Domain resources live in defs/<domain>/resources.py and nest these same objects (lib/resources.py)."""

import dagster as dg

from pipeline_project.lib.resources import shared


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=shared().as_dict())
