import pymupdf

from pipeline_project import samples
from pipeline_project.defs.documents.ocr.base import OcrInput
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.defs.documents.olmocr_format import pages_from_record


def mixed_pdf(path):
    """Page 1 born-digital, page 2 a scan (picture only), page 3 blank."""
    scan = samples.image_only_pdf(path.with_name("scan.pdf"), ["Invoice number 4711", "Total amount due"])
    doc = pymupdf.open(samples.born_digital_pdf(path.with_name("digital.pdf"), pages=1))
    doc.insert_pdf(pymupdf.open(scan))
    doc.new_page()
    doc.save(path)
    return path


def test_pages_are_routed_per_page_and_written_in_olmocr_format(tmp_path):
    pdf = mixed_pdf(tmp_path / "mixed.pdf")
    result = LocalOcrEngine().ocr_batch(None, "b1", [OcrInput("d" * 64, pdf, "mixed.pdf", 3)], tmp_path / "work")

    assert not result.failures
    (record,) = result.records
    pages = pages_from_record(record)
    assert [p.method for p in pages] == ["text_layer", "ocr", "empty"]
    assert "4711" in pages[1].text and "Invoice" in pages[1].text  # real Tesseract read the picture
    assert record["metadata"]["pdf-total-pages"] == 3 and record["metadata"]["Source-File"] == "mixed.pdf"
    spans = record["attributes"]["pdf_page_numbers"]
    assert [s[2] for s in spans] == [1, 2, 3]
    assert record["text"][spans[1][0]:spans[1][1]] == pages[1].text
    assert result.metadata["pages_ocr"] == 1 and result.metadata["pages_text_layer"] == 1


def test_a_document_that_breaks_is_a_failure_not_a_crash(tmp_path):
    good = samples.born_digital_pdf(tmp_path / "good.pdf", pages=1)
    missing = tmp_path / "gone.pdf"
    result = LocalOcrEngine().ocr_batch(
        None, "b1", [OcrInput("a" * 64, missing, "gone.pdf", 1), OcrInput("b" * 64, good, "good.pdf", 1)], tmp_path / "w")
    assert list(result.failures) == ["a" * 64]
    assert [r["metadata"]["Source-File"] for r in result.records] == ["good.pdf"]


def test_finished_documents_are_reused_after_a_kill(tmp_path):
    good = samples.born_digital_pdf(tmp_path / "good.pdf", pages=1)
    engine = LocalOcrEngine()
    inputs = [OcrInput("c" * 64, good, "good.pdf", 1)]
    first = engine.ocr_batch(None, "b1", inputs, tmp_path / "w")
    good.unlink()  # a re-run must not need the PDF again for a finished document
    second = engine.ocr_batch(None, "b1", inputs, tmp_path / "w")
    assert second.records == first.records and second.metadata["documents_resumed"] == 1


def test_text_that_storage_would_reject_is_cleaned():
    from pipeline_project.defs.documents.olmocr_format import DocumentText, PageText, build_record

    record = build_record(DocumentText("d", "x.pdf", [PageText(1, "ok\x00 text \ud800 end", "text_layer")]),
                          source="t", engine_version="t")
    assert "\x00" not in record["text"] and record["text"].encode("utf-8")  # encodable, no NUL
    assert record["text"].startswith("ok text") and record["text"].endswith(" end")


def test_an_upside_down_scan_is_read(tmp_path):
    lines = ["Quarterly maintenance log", "Generator serviced and load tested on site."] + [
        f"Item {n}: the pumps, valves and filters of station {n} were inspected and cleaned." for n in range(12)]
    scan = samples.image_only_pdf(tmp_path / "scan.pdf", lines)  # a page of text, as OSD needs
    with pymupdf.open(scan) as doc:
        doc[0].set_rotation(180)  # fed into the scanner the wrong way round
        doc.save(tmp_path / "upside_down.pdf")
    inputs = [OcrInput("e" * 64, tmp_path / "upside_down.pdf", "upside_down.pdf", 1)]

    (record,) = LocalOcrEngine().ocr_batch(None, "b1", inputs, tmp_path / "w").records

    assert "maintenance" in record["text"] and "Generator" in record["text"]
