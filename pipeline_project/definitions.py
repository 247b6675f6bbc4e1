"""The code location: every domain under pipeline_project/defs/, loaded by `dg.load_from_defs_folder`.

Nothing here loads models or scans files: definitions are rebuilt on every code-location load and
UI reload.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def build_definitions() -> dg.Definitions:
    """The whole code location, as a plain Definitions (for the CLI's in-process runs)."""
    from pipeline_project.lib.pool_wait import patch_pool_wait

    patch_pool_wait()  # a run waiting for the embedding model's pool slot sleeps (lib/pool_wait.py)
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
