"""The documents job with PIPELINE_OCR_ENGINE=slurm: a batch's OCR runs as one job on the real local
cluster (CPU stand-in payload) and the chain goes on to embeddings; a batch whose job keeps failing
is dead-lettered and the rest of the pipeline still completes."""

import dagster as dg
import pytest

from pipeline_project import samples
from pipeline_project.defs.documents.assets import documents_assets
from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine
from pipeline_project_tests.defs.documents.helpers import claim_inbox, table

from .conftest import PAYLOADS

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(400, method="thread")]


def ocr_metadata(result) -> dict:
    (mat,) = [m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == "ocr_jsonl"]
    return {k: v.value for k, v in mat.materialization.metadata.items()}


def test_batch_ocr_runs_on_slurm_and_flows_to_embeddings(slurm_env, instance, resources, storage):
    samples.born_digital_pdf(storage.inbox / "report.pdf", pages=2)
    samples.image_only_pdf(storage.inbox / "scan.pdf", ["Pier 9 inspection", "Bearings replaced in May"])
    batch_id = claim_inbox(instance, storage)

    result = dg.materialize(documents_assets, partition_key=batch_id, instance=instance,
                            resources=dict(resources, ocr_engine=SlurmOcrEngine.from_env()))

    assert result.success
    meta = ocr_metadata(result)
    assert meta["engine"] == "slurm-cpu" and meta["slurm_state"] == "COMPLETED" and meta["dead_letters"] == 0
    assert (meta["pages_sent_to_gpu"], meta["pages_text_layer"]) == (1, 2)  # only the scan went to the job
    (ocr_text,) = table(storage, "SELECT text FROM pages WHERE method = 'ocr'")[0]
    assert "Bearings" in ocr_text  # Tesseract ran inside the SLURM job
    assert table(storage, "SELECT count(*) FROM embeddings")[0][0] == table(storage, "SELECT count(*) FROM chunks")[0][0] > 0


def test_failing_slurm_batch_is_dead_lettered_and_the_chain_completes(slurm_env, instance, resources, storage,
                                                                      monkeypatch):
    monkeypatch.setenv("PIPELINE_SLURM_ATTEMPTS", "1")
    # a fresh instance, not model_copy: Dagster rebuilds resources from their config
    engine = SlurmOcrEngine(**{**SlurmOcrEngine.from_env().model_dump(), "payload_path": str(PAYLOADS / "fails.py")})
    samples.born_digital_pdf(storage.inbox / "report.pdf", pages=1)  # needs no job: goes through
    samples.image_only_pdf(storage.inbox / "scan.pdf", ["Gauge 7 reading"])
    batch_id = claim_inbox(instance, storage)

    result = dg.materialize(documents_assets, partition_key=batch_id, instance=instance,
                            resources=dict(resources, ocr_engine=engine))

    assert result.success  # the batch is not stuck: later stages run
    assert ocr_metadata(result)["dead_letters"] == 1
    ((source, stage, reason),) = table(storage, "SELECT source_file, stage, reason FROM dead_letters")
    assert (source, stage) == ("scan.pdf", "ocr") and "FAILED" in reason.upper()
    # the born-digital document never needed the cluster, so the failed job does not hold it back
    assert table(storage, "SELECT source_file FROM documents") == [("report.pdf",)]
