"""Bibliography fixtures: generated papers read through the documents domain's own OCR engine
(text layer for born-digital pages, Tesseract for scans), once per test session."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline_project.defs.documents.ocr.base import OcrInput
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.defs.documents.olmocr_format import pages_from_record
from pipeline_project.samples import papers


def page_texts(paths: list[Path], work: Path) -> dict[Path, list[tuple[int, str]]]:
    """(page, text) per page of each PDF, exactly as the documents domain stores them."""
    inputs = [OcrInput(hashlib.sha256(p.read_bytes()).hexdigest(), p, p.name, 0) for p in paths]
    result = LocalOcrEngine().ocr_batch(None, "bibliography-tests", inputs, work)
    assert not result.failures, result.failures
    by_id = {i.doc_id: i.pdf_path for i in inputs}
    return {by_id[r["metadata"]["doc_id"]]: [(p.page, p.text) for p in pages_from_record(r)] for r in result.records}


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> dict[str, tuple[papers.PaperTruth, list[tuple[int, str]]]]:
    folder = tmp_path_factory.mktemp("papers")
    truths = papers.write_suite(folder)
    texts = page_texts([t.path for t in truths.values()], folder / "ocr")
    return {name: (truth, texts[truth.path]) for name, truth in truths.items()}


@pytest.fixture(scope="session")
def api():
    """The Crossref/OpenAlex replay server on loopback, started once per session; each test that
    uses it through `replay` starts with clean books, no faults and no PDFs served."""
    from pipeline_project.samples.api_replay import ApiReplay

    with ApiReplay(latency=0.01) as server:
        yield server


@pytest.fixture
def replay(api):
    api.reset()
    api.latency = 0.01
    api.openalex_daily_usd = 1.0
    yield api
    api.reset()
