"""The shared resources, built once from the environment and reused under one key each.

`storage`, `warehouse` and `embedder` are registered by pipeline_project/defs/resources.py. A domain
resource that needs one of them takes it as a nested resource (a field typed with its class) and is
handed the very object returned here, never one built again from the environment:

    DownloaderResource(storage=shared().storage, ...)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.settings import data_dir, env_str
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource, warehouse_url

# Settings the shared resources are built from; a change to any of them builds a new set.
_ENV_KEYS = ("PIPELINE_DATA_DIR", "PIPELINE_DELETE_SOURCE", "PIPELINE_DOWNLOAD_LIST", "PIPELINE_EMBEDDING_MODEL",
             "EMBEDDING_MODEL", "PIPELINE_WAREHOUSE_URL")


@dataclass(frozen=True)
class Shared:
    storage: StorageResource
    warehouse: WarehouseResource
    embedder: EmbedderResource

    def as_dict(self) -> dict:
        return {"storage": self.storage, "warehouse": self.warehouse, "embedder": self.embedder}


def default_delete_source() -> str:
    """With the downloader on, stored PDFs are deleted once their text is verified in the warehouse
    (otherwise downloads paused at the disk watermark could never resume); without it they are kept."""
    return "after_ingest" if os.environ.get("PIPELINE_DOWNLOAD_LIST") else "never"


@lru_cache(maxsize=8)
def _build(_env: tuple) -> Shared:
    storage = StorageResource(root=str(data_dir()),
                              delete_source=env_str("PIPELINE_DELETE_SOURCE", default_delete_source()))
    model = env_str("PIPELINE_EMBEDDING_MODEL", env_str("EMBEDDING_MODEL", EmbedderResource().model))
    return Shared(storage=storage, warehouse=WarehouseResource(database=str(storage.warehouse_path), url=warehouse_url()),
                  embedder=EmbedderResource(model=model))


def shared() -> Shared:
    """The shared resources for the current environment (the same objects on every call)."""
    return _build(tuple(os.environ.get(k) for k in _ENV_KEYS) + (str(data_dir()),))
