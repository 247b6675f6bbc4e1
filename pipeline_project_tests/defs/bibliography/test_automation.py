"""When the bibliography automation starts a batch: once the documents run has finished with it, so that
its run takes neither a run slot nor CPU from the batch's embedding."""

import dagster as dg

from pipeline_project.defs.bibliography.assets import bibliography_assets
from pipeline_project.defs.bibliography.resources import BibliographyResource
from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.jobs import CHAIN, documents_job
from pipeline_project.defs.documents.partitions import ocr_batches

BATCH = "20261130T120000-abc123"


def requested(result, asset: str) -> set[str]:
    return set(result.get_requested_partitions(dg.AssetKey(asset)))


def test_references_are_extracted_once_the_batch_is_embedded(instance, resources):
    defs = dg.Definitions(assets=[*documents_assets, *bibliography_assets], jobs=[documents_job],
                          resources={**resources, "bibliography": BibliographyResource()})
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
    instance.add_dynamic_partitions(ocr_batches.name, [BATCH])
    # the batch's documents run is under way (every stage planned) and has stored its pages
    instance.create_run_for_job(defs.resolve_job_def(documents_job.name), asset_selection=frozenset(CHAIN),
                                tags={"dagster/partition": BATCH}, status=dg.DagsterRunStatus.STARTED)
    for stage in ("raw_pdfs", "ocr_jsonl", "documents"):
        instance.report_runless_asset_event(dg.AssetMaterialization(stage, partition=BATCH))

    while_embedding = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    assert requested(while_embedding, "no_metadata") == set()

    instance.report_runless_asset_event(dg.AssetMaterialization("embeddings", partition=BATCH))
    embedded = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=while_embedding.cursor)
    assert requested(embedded, "no_metadata") == {BATCH}
