"""The whole chain through materialize() on a real (temporary) instance, real Tesseract and model."""

import os

import dagster as dg

from pipeline_project import samples
from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.jobs import chain_run_request, documents_job
from pipeline_project.lib.embedder import EmbedderResource
from pipeline_project.lib.storage import StorageResource
from pipeline_project_tests.defs.documents.helpers import claim_inbox, snapshot, table


def run_batch(instance, resources, batch_id):
    result = dg.materialize(documents_assets, partition_key=batch_id, resources=resources, instance=instance)
    assert result.success
    return result


def metadata(result, asset):
    (mat,) = [m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == asset]
    return {k: v.value for k, v in mat.materialization.metadata.items()}


def checks(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_batch_with_bad_files_completes_and_quarantines_them(instance, resources, storage):
    good = samples.born_digital_pdf(storage.inbox / "good.pdf", pages=3)
    samples.image_only_pdf(storage.inbox / "scan.pdf", ["Harbour inspection report", "Crane 7 needs repair"])
    samples.bad_files(storage.inbox / "bad", good)
    batch_id = claim_inbox(instance, storage)

    result = run_batch(instance, resources, batch_id)

    raw = metadata(result, "raw_pdfs")
    assert (raw["files"], raw["accepted"], raw["quarantined"]) == (9, 4, 5)
    docs = metadata(result, "documents")
    assert docs["documents"] == 4 and docs["pages_ocr"] == 1
    assert metadata(result, "embeddings")["embedded"] == metadata(result, "chunks")["chunks"] > 0
    evaluations = checks(result)
    assert not evaluations["no_quarantined_files"].passed
    assert evaluations["no_quarantined_files"].severity == dg.AssetCheckSeverity.WARN
    assert all(evaluations[n].passed for n in ("every_page_has_text_or_empty_marker", "no_duplicate_chunk_ids",
                                               "one_embedding_per_chunk"))
    # quarantined files are kept, each with a reason a person can read
    kept = sorted(p.name for p in (storage.quarantine / "documents" / batch_id).rglob("*"))
    assert "locked.pdf" in kept and "locked.pdf.reason.txt" in kept
    assert "password" in (storage.quarantine / "documents" / batch_id / "bad" / "locked.pdf.reason.txt").read_text()
    # the item ledger holds every inbox file: accepted ones done, bad ones dead letters naming their copy
    assert table(storage, """SELECT state, count(*), count(quarantine_path) FROM item_ledger
                             WHERE domain = 'documents' AND stage = 'intake' GROUP BY state ORDER BY state""") == [
        ("dead_letter", 5, 5), ("done", 4, 0)]
    assert evaluations["no_dead_letters"].passed  # every accepted document was read
    # the scan's text came from OCR and is searchable in the pages table
    (ocr_text,) = table(storage, "SELECT text FROM pages WHERE method = 'ocr'")[0]
    assert "Crane" in ocr_text
    # accepted PDFs are in the content-addressed store
    assert len(list(storage.pdf_store.rglob("*.pdf"))) == 4


def test_rerunning_a_batch_gives_identical_tables(instance, resources, storage):
    samples.sample_corpus(storage.inbox, documents=3, pages=2, scans=1)
    batch_id = claim_inbox(instance, storage)
    run_batch(instance, resources, batch_id)
    before = snapshot(storage)

    again = run_batch(instance, resources, batch_id)

    assert snapshot(storage) == before
    assert metadata(again, "embeddings")["reused"] == len(before["chunks"])  # nothing embedded twice
    assert metadata(again, "embeddings")["embedded"] == 0


def test_same_pdf_in_a_later_batch_is_a_duplicate(instance, resources, storage):
    first = samples.born_digital_pdf(storage.inbox / "paper.pdf", pages=2)
    copy = first.read_bytes()
    run_batch(instance, resources, claim_inbox(instance, storage))
    (storage.inbox / "paper_again.pdf").write_bytes(copy)

    result = run_batch(instance, resources, claim_inbox(instance, storage))

    assert metadata(result, "raw_pdfs")["duplicates"] == 1
    assert table(storage, "SELECT count(*) FROM documents") == [(1,)]
    assert not (storage.inbox / "paper_again.pdf").exists()


def test_delete_policy_removes_sources_only_after_ingest(instance, resources, storage):
    samples.sample_corpus(storage.inbox, documents=2, pages=1, scans=0)
    resources = dict(resources, storage=StorageResource(root=storage.root, delete_source="after_ingest"))
    result = run_batch(instance, resources, claim_inbox(instance, storage))
    assert metadata(result, "documents")["source_bytes_deleted"] > 0
    assert list(storage.pdf_store.rglob("*.pdf")) == []
    assert table(storage, "SELECT count(*) FROM pages") == [(2,)]


def test_hand_materialized_raw_pdfs_flows_on_by_automation(instance, resources, storage):
    """A batch materialized by hand is carried on by the eager automation conditions."""
    samples.born_digital_pdf(storage.inbox / "x.pdf", pages=1)
    batch_id = claim_inbox(instance, storage)
    defs = dg.Definitions(assets=documents_assets, resources=resources)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0  # nothing to follow yet: raw_pdfs is missing

    dg.materialize(documents_assets[:1], partition_key=batch_id, resources=resources, instance=instance)
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    # the rest of the chain is requested for that batch in the same tick
    for name in ("ocr_jsonl", "documents", "chunks", "embeddings"):
        assert result.get_requested_partitions(dg.AssetKey(name)) == {batch_id}
    assert result.get_num_requested(dg.AssetKey("raw_pdfs")) == 0


def test_automation_never_runs_a_stage_the_batch_s_own_run_was_to_run(instance, resources, storage):
    """One run per batch in the UI: a stage that the batch's own run (as the intake sensor requests it) was
    to run, here a chunks step that failed, is not requested again by automation; only parents updated
    outside that run are followed."""
    broken = dict(resources, embedder=EmbedderResource(model=os.path.join(storage.root, "no_such_model")))
    defs = dg.Definitions(assets=documents_assets, jobs=[documents_job], resources=broken)
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor  # before the batch
    samples.born_digital_pdf(storage.inbox / "x.pdf", pages=1)
    batch_id = claim_inbox(instance, storage)
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor).cursor  # new, missing

    request = chain_run_request(batch_id)
    run = defs.resolve_job_def(documents_job.name).execute_in_process(
        partition_key=batch_id, asset_selection=request.asset_selection, tags=request.tags, instance=instance,
        raise_on_error=False)
    assert not run.success and [m.asset_key.path[-1] for m in run.get_asset_materialization_events()] == \
        ["raw_pdfs", "ocr_jsonl", "documents"]  # chunks could not load its tokenizer

    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    assert after.total_requested == 0


def test_bad_files_with_the_same_name_are_both_kept(instance, resources, storage):
    for folder in ("crawl_a", "crawl_b"):
        (storage.inbox / folder).mkdir(parents=True)
        (storage.inbox / folder / "report.pdf").write_bytes(f"<html>{folder} error page</html>".encode())
    batch_id = claim_inbox(instance, storage)

    result = run_batch(instance, resources, batch_id)

    assert metadata(result, "raw_pdfs")["quarantined"] == 2
    kept = sorted(str(p.relative_to(storage.quarantine / "documents" / batch_id)) for p in (storage.quarantine / "documents" / batch_id).rglob("*.pdf"))
    assert kept == ["crawl_a/report.pdf", "crawl_b/report.pdf"]
    assert b"crawl_b" in (storage.quarantine / "documents" / batch_id / "crawl_b" / "report.pdf").read_bytes()


def test_file_names_with_undecodable_bytes_are_processed(instance, resources, storage):
    good = samples.born_digital_pdf(storage.inbox / "tmp.pdf", pages=1)
    weird = os.fsdecode(bytes(storage.inbox) + b"/r\xe9sum\xe9.pdf")  # latin-1 name on a UTF-8 system
    os.replace(good, weird)
    batch_id = claim_inbox(instance, storage)

    result = run_batch(instance, resources, batch_id)

    assert metadata(result, "documents")["documents"] == 1
    ((name,),) = table(storage, "SELECT source_file FROM documents")
    assert name.startswith("r") and name.endswith("sum\ufffd.pdf")
