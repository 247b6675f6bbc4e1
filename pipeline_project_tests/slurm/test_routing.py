"""Born-digital routing: only pages without a usable text layer reach the SLURM job, and every OCR'd
page comes back to its own place. The job runs on the real local cluster; Tesseract inside it stands
in for olmOCR (no GPU here), which the metadata says."""

import json

import pymupdf
import pytest

from pipeline_project.defs.documents.ocr.routing import RoutedBatch, map_back
from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine
from pipeline_project.defs.documents.olmocr_format import PAGE_TEXT_LAYER, PageText, pages_from_record
from pipeline_project.samples.mixed_pdfs import scan_line

from .conftest import mixed_inputs
from .test_slurm_ocr import run_probe

LAYOUTS = {"minutes": "TST", "fax": "SS", "report": "TT"}


@pytest.mark.slurm
@pytest.mark.timeout(300, method="thread")
def test_only_scanned_pages_are_sent_and_map_back_to_their_page(slurm_env, tmp_path):
    inputs = mixed_inputs(tmp_path / "pdfs", LAYOUTS)
    run, result = run_probe(SlurmOcrEngine.from_env(), inputs, tmp_path / "work")

    assert run.success and not result.failures
    meta = result.metadata
    assert (meta["pages_sent_to_gpu"], meta["pages_text_layer"]) == (3, 4)
    assert meta["slurm_job"] == "submitted" and meta["slurm_state"] == "COMPLETED"
    assert meta["pages_ocr_in_job"] == 3  # the job itself saw 3 pages, not 7
    assert "stands in for olmOCR" in meta["ocr_stand_in"]
    # what went to the cluster: one routed PDF of exactly the scanned pages, none with a text layer
    (attempt,) = (tmp_path / "work" / "slurm").glob("attempt-*")
    (entry,) = json.loads((attempt / "manifest.json").read_text())
    ids = {i.source_file.removesuffix(".pdf"): i.doc_id for i in inputs}
    assert entry["page_map"] == [[ids["minutes"], 2], [ids["fax"], 1], [ids["fax"], 2]]
    with pymupdf.open(attempt / "routed-001.pdf") as routed:
        assert routed.page_count == 3 and not any(p.get_text().strip() for p in routed)
    # and back: every document whole, in page order, each page read the way it needed
    by_name = {r["metadata"]["Source-File"]: r for r in result.records}
    minutes = pages_from_record(by_name["minutes.pdf"])
    assert [p.method for p in minutes] == ["text_layer", "ocr", "text_layer"]
    assert [p.page for p in minutes] == [1, 2, 3]
    assert "sheet 2 of minutes" in minutes[1].text and "minutes - page 3" in minutes[2].text
    fax = pages_from_record(by_name["fax.pdf"])
    assert ["sheet 1 of fax" in fax[0].text, "sheet 2 of fax" in fax[1].text] == [True, True]
    assert by_name["report.pdf"]["attributes"]["page_methods"] == ["text_layer", "text_layer"]


def test_a_born_digital_batch_submits_no_job(tmp_path):
    # no cluster needed: nothing may be sent (a host that does not exist proves it)
    engine = SlurmOcrEngine(host="no-such-host.invalid", env_path="/nowhere", payload_mode="cpu")
    inputs = mixed_inputs(tmp_path / "pdfs", {"a": "TTT", "b": "T"})
    result = engine.ocr_batch(None, "b1", inputs, tmp_path / "work")
    assert not result.failures and len(result.records) == 2
    assert result.metadata["pages_sent_to_gpu"] == 0 and result.metadata["pages_text_layer"] == 4
    assert result.metadata["slurm_outcome"] == "not_needed"
    assert not (tmp_path / "work" / "slurm").exists()


def test_olmocr_pages_map_back_by_the_page_map():
    manifest = [{"doc_id": "routed-001", "page_map": [["d1", 4], ["d2", 1], ["d1", 9]]}]
    text = "four\none\nnine"
    record = {"text": text, "metadata": {"doc_id": "routed-001"},
              "attributes": {"pdf_page_numbers": [[0, 4, 1], [5, 8, 2], [9, 13, 3]]}}
    found = map_back([record], manifest)
    assert {k: v.text for k, v in found.items()} == {("d1", 4): "four", ("d2", 1): "one", ("d1", 9): "nine"}
    assert {v.method for v in found.values()} == {"ocr"}


def test_a_page_the_ocr_did_not_return_fails_its_document_only():
    engine = SlurmOcrEngine(host="x", env_path="/nowhere")
    routed = RoutedBatch(pages={"d1": [PageText(1, "text", PAGE_TEXT_LAYER), None], "d2": [None]})
    from pipeline_project.defs.documents.ocr.base import OcrInput

    inputs = [OcrInput("d1", "/x/d1.pdf", "d1.pdf", 2), OcrInput("d2", "/x/d2.pdf", "d2.pdf", 1)]
    result = engine._assemble(inputs, routed, {("d2", 1): PageText(1, "scan", "ocr")}, {})
    assert [r["metadata"]["doc_id"] for r in result.records] == ["d2"]
    assert "page(s) [2]" in result.failures["d1"]
