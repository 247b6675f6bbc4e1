"""no_metadata → with_metadata → to_download_references → downloaded_references, per OCR batch.

Each follows its parent with an eager automation condition (bibliography_automation_sensor), so
a batch flows on as soon as the documents domain has stored its pages, in runs of its own:
extraction of batch N+1 runs while batch N is being enriched. Downloaded PDFs land in the inbox
and come back as a later batch, whose references are extracted in turn (citation depth + 1).
"""

import dagster as dg

from pipeline_project.defs.bibliography import checks, downloads, stages
from pipeline_project.defs.bibliography import warehouse_io as io
from pipeline_project.defs.bibliography.partitions import ocr_batches
from pipeline_project.defs.bibliography import progress
from pipeline_project.defs.bibliography.resources import BibliographyResource, services_lock
from pipeline_project.lib.automation import follow_parents, once_done
from pipeline_project.lib.storage import StorageResource
from pipeline_project.lib.warehouse import WarehouseResource

GROUP = "bibliography"
FOLLOW = follow_parents()
# A batch's references are extracted once the documents run has finished with the batch (embeddings
# included): its run then takes neither a run slot nor CPU from the batch's embedding.
AFTER_DOCUMENTS = (FOLLOW & once_done("embeddings")).with_label("follow documents once embedded")


@dg.asset(
    partitions_def=ocr_batches, group_name=GROUP, deps=[dg.AssetKey("documents")], automation_condition=AFTER_DOCUMENTS,
    kinds={"duckdb"}, check_specs=checks.DOCUMENT_SPECS,
    description="The reference lists of every document of the batch, found in its page texts (headings in many "
    "languages, numbered lists without heading, several lists per document), split into entries and "
    "parsed (authors, title, year, venue, volume, pages, DOI, arXiv id, URL), raw text kept.",
)
def no_metadata(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    batch_id = context.partition_key
    report = stages.extract_batch(warehouse, batch_id, log=context.log.warning, progress=progress.PROGRESS)
    return dg.MaterializeResult(
        metadata={"documents": report.documents, "documents_with_lists": report.with_lists,
                  "documents_without_list": report.without_list, "extraction_failed": report.failed,
                  "references": report.references, "pages": report.pages,
                  "styles": dg.MetadataValue.json(dict(report.styles)),
                  "pages_per_second": round(report.pages / report.seconds, 1) if report.seconds else 0.0,
                  "seconds": round(report.seconds, 2)},
        check_results=[checks.documents_result(warehouse, batch_id, report.documents),
                       checks.dead_letters(warehouse, batch_id, checks.NO_METADATA, [io.LISTS, io.EXTRACT])],
    )


@dg.asset(
    partitions_def=ocr_batches, group_name=GROUP, deps=[no_metadata], automation_condition=FOLLOW,
    kinds={"duckdb"}, check_specs=checks.REFERENCE_SPECS,
    description="Each reference looked up: by DOI/arXiv id directly, else a Crossref bibliographic query and an "
    "OpenAlex search, candidates scored (title, year, first author). Matched, unmatched (best candidate and "
    "reason kept) or waiting for a service (retried later). Within Crossref's and OpenAlex's 2026 limits.",
)
def with_metadata(context: dg.AssetExecutionContext, warehouse: WarehouseResource, storage: StorageResource,
                  bibliography: BibliographyResource):
    batch_id = context.partition_key
    with services_lock(storage.root_path, log=context.log.info):
        report = stages.enrich_batch(warehouse, batch_id, bibliography.enricher(),
                                     workers=bibliography.enrichment_workers,
                                     wait_seconds=bibliography.wait_seconds, progress=progress.PROGRESS)
    for name, service in bibliography.services().items():
        context.log.info(f"{name}: {service.state()}")
    return dg.MaterializeResult(
        metadata={"references": report.references, **{k: v for k, v in report.outcomes.items()},
                  "answered_by": dg.MetadataValue.json(dict(report.services)),
                  "waiting_reasons": dg.MetadataValue.json(dict(report.reasons)),
                  "retry_in_seconds": round(report.retry_in or 0), "seconds": round(report.seconds, 2)},
        check_results=[checks.references_result(warehouse, batch_id),
                       checks.dead_letters(warehouse, batch_id, checks.WITH_METADATA, [io.ENRICH])],
    )


@dg.asset(
    partitions_def=ocr_batches, group_name=GROUP, deps=[with_metadata], automation_condition=FOLLOW,
    kinds={"duckdb"},
    description="Cited works with an open-access PDF link, one per DOI: queued unless already in the corpus, "
    "queued by another batch, or beyond the citation depth (PIPELINE_BIB_CITATION_DEPTH, default 1).",
)
def to_download_references(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                           bibliography: BibliographyResource):
    report = downloads.queue_batch(warehouse, context.partition_key, bibliography.citation_depth)
    return dg.MaterializeResult(metadata={k: v for k, v in report.decisions.items()} or {"queued": 0})


@dg.asset(
    partitions_def=ocr_batches, group_name=GROUP, deps=[to_download_references], automation_condition=FOLLOW,
    kinds={"pdf", "duckdb"}, check_specs=checks.DOWNLOAD_SPECS,
    description="The queued PDFs, fetched by the ingest downloader (resumable, retried, verified), checked "
    "(an HTML page is quarantined; a copy of a document already in the corpus is not added again) and "
    "moved into the inbox, where the documents pipeline reads them and their own references follow.",
)
def downloaded_references(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                          storage: StorageResource, bibliography: BibliographyResource):
    batch_id = context.partition_key
    report = downloads.download_batch(warehouse, storage, batch_id, workers=bibliography.download_workers,
                                      log=context.log.info, progress=progress.PROGRESS)
    if report.paused:
        context.log.warning(f"downloads paused: {report.paused}")
    return dg.MaterializeResult(
        metadata={**{k: v for k, v in report.outcomes.items()}, "bytes": report.bytes,
                  "paused": report.paused or "no", "seconds": round(report.seconds, 2),
                  "failures": dg.MetadataValue.json(report.failures)},
        check_results=[checks.dead_letters(warehouse, batch_id, checks.DOWNLOADED, [io.DOWNLOAD])],
    )


bibliography_assets = [no_metadata, with_metadata, to_download_references, downloaded_references]
