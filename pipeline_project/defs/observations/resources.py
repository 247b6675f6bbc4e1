"""The observations domain's resource: where dataset configs and quarantined files live.

Key `observations_store` (unique to this domain). Dataset outputs live where each dataset's
YAML says (paths.output_dir); this resource only holds the storage root for quarantine.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline_project.lib.settings import data_dir


class ObservationsStore(dg.ConfigurableResource):
    """Storage root ($PIPELINE_DATA_DIR at load time unless configured)."""

    root: str

    @classmethod
    def from_env(cls) -> "ObservationsStore":
        return cls(root=str(data_dir()))

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    @property
    def quarantine_root(self) -> Path:
        """Quarantined copies go to <root>/quarantine/observations/<dataset>/."""
        return self.root_path
