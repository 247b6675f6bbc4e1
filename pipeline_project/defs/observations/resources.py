"""The observations domain's resource: the dataset configs, and where their per-week state and
quarantined copies go.

Key `observations_store`. It nests the shared `storage` (quarantine under its root) and `warehouse`
(the item ledger: per-file and per-week-stage records). Dataset outputs live where each dataset's YAML
says (paths.output_dir).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline_project.defs.observations import config as config_mod
from pipeline_project.lib.resources import shared
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource


class ObservationsStore(dg.ConfigurableResource):
    storage: StorageResource
    warehouse: WarehouseResource

    @property
    def storage_root(self) -> Path:
        """Quarantined copies go to <root>/quarantine/observations/<dataset>/."""
        return self.storage.root_path


def observations_store() -> ObservationsStore:
    common = shared()
    return ObservationsStore(storage=common.storage, warehouse=common.warehouse)


def load_configs() -> list[config_mod.DatasetConfig]:
    """The dataset YAMLs (never the raw files). A bad YAML does not take the code location down: it is
    logged and that dataset is left out; so is a second dataset with a name already taken."""
    import logging

    log = logging.getLogger(__name__)
    configs: list[config_mod.DatasetConfig] = []
    for path in config_mod.config_paths():
        try:
            configs.append(config_mod.load_config(path))
        except config_mod.ConfigError as exc:
            log.error("observations: skipping dataset config: %s", exc)
    names = [c.name for c in configs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        log.error("observations: duplicate dataset name %s: every config with it is left out", name)
    return [c for c in configs if names.count(c.name) == 1]


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"observations_store": observations_store()})
