"""The documents domain's Definitions, with resources chosen from the environment."""

import dagster as dg

from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.jobs import documents_job
from pipeline_project.defs.documents.resources import ocr_engine_from_env
from pipeline_project.defs.documents.sensors import documents_automation_sensor, ocr_batch_sensor
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import warehouse_from_path
from pipeline_project.lib.settings import env_str


def documents_resources() -> dict:
    storage = StorageResource.from_env()
    return {
        "storage": storage,
        "warehouse": warehouse_from_path(str(storage.warehouse_path)),
        "ocr_engine": ocr_engine_from_env(),
        "embedder": EmbedderResource(model=env_str("PIPELINE_EMBEDDING_MODEL", "all-MiniLM-L6-v2")),
    }


defs = dg.Definitions(
    assets=documents_assets,
    jobs=[documents_job],
    sensors=[ocr_batch_sensor, documents_automation_sensor],
    resources=documents_resources(),
)
