"""The production payload's olmOCR → record conversion (no cluster, no GPU needed)."""

import json

from pipeline_project.defs.documents.ocr.olmocr_payload import read_olmocr_results
from pipeline_project.defs.documents.olmocr_format import doc_id_of, pages_from_record


def test_olmocr_results_become_our_records(tmp_path):
    manifest = [{"doc_id": "a" * 64, "pdf_path": "/store/aa/a.pdf", "source_file": "scan.pdf", "pages": 2},
                {"doc_id": "b" * 64, "pdf_path": "/store/bb/b.pdf", "source_file": "lost.pdf", "pages": 1}]
    text = "first page\nsecond page"
    olmocr_line = {"id": "x", "text": text, "source": "olmocr", "added": "2025-01-01", "created": "2025-01-01",
                   "metadata": {"Source-File": "/store/aa/a.pdf", "olmocr-version": "0.4.27", "pdf-total-pages": 2},
                   "attributes": {"pdf_page_numbers": [[0, 10, 1], [11, 22, 2]], "primary_language": ["en", "en"]}}
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "output_1.jsonl").write_text(json.dumps(olmocr_line) + "\n")
    records, failures = read_olmocr_results(tmp_path, manifest)
    assert [doc_id_of(r) for r in records] == ["a" * 64]
    assert records[0]["metadata"]["Source-File"] == "scan.pdf"
    assert records[0]["attributes"]["page_methods"] == ["ocr", "ocr"]
    assert [p.text for p in pages_from_record(records[0])] == ["first page", "second page"]
    assert "no output" in failures["b" * 64]
