"""The embedded default OCR engine: PyMuPDF's text layer where it is usable, Tesseract where not.

Decided per page, so born-digital pages never pay for OCR (~580 pages/s vs ~2.6 CPU-s/page).
Tesseract runs one process per page with OMP_THREAD_LIMIT=1 and one worker per core: its own
threads make it slower on this hardware.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from pipeline_project.lib.atomic import read_json, write_json_atomic
from pipeline_project.defs.documents.ocr.base import OcrBatchResult, OcrEngine, OcrInput
from pipeline_project.defs.documents.olmocr_format import (
    PAGE_EMPTY,
    PAGE_OCR,
    PAGE_TEXT_LAYER,
    DocumentText,
    PageText,
    build_record,
)

ENGINE_VERSION = "pipeline_project-local-1"


class TesseractMissing(RuntimeError):
    pass


def text_layer_is_usable(text: str, min_chars: int) -> bool:
    """A text layer is usable when it has enough real characters (not just whitespace,
    replacement characters or a stray page number)."""
    alnum = sum(ch.isalnum() for ch in text)
    bad = text.count("\ufffd")
    return alnum >= min_chars and bad <= 0.1 * max(alnum, 1)


def tesseract_png(png: bytes, *, lang: str, timeout: float, psm: int = 1) -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise TesseractMissing("tesseract is not installed (Debian package tesseract-ocr)")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    proc = subprocess.run(
        [exe, "stdin", "stdout", "-l", lang, "--psm", str(psm)],
        input=png,
        capture_output=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tesseract failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return proc.stdout.decode("utf-8", errors="replace").strip()


class LocalOcrEngine(OcrEngine):
    """PyMuPDF text layer + Tesseract fallback, on this machine."""

    dpi: int = 200
    min_text_chars: int = 20
    workers: int = 0  # 0 = one per core
    language: str = "eng"
    page_timeout_seconds: float = 180.0
    # 1 = automatic segmentation with orientation detection: upside-down scans (a feeder's favourite)
    # read correctly, for ~30 % more CPU per OCR'd page than 3 (which returns gibberish for them).
    page_segmentation_mode: int = 1

    @property
    def engine_name(self) -> str:
        return "local"

    def _workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def ocr_batch(self, context, batch_id, inputs, work_dir) -> OcrBatchResult:
        result = OcrBatchResult()
        parts = Path(work_dir) / "ocr_parts"
        counts = {PAGE_TEXT_LAYER: 0, PAGE_OCR: 0, PAGE_EMPTY: 0}
        reused = 0
        # Documents are started in order and finished in order; while one waits on Tesseract the
        # next ones are already being rendered, so all cores stay busy even on one-page scans.
        in_flight: deque[tuple[OcrInput, list]] = deque()
        done = 0

        def finish_oldest() -> None:
            nonlocal done
            item, pages = in_flight.popleft()
            try:
                record = self._assemble(item, pages)
            except TesseractMissing:
                raise  # the machine is misconfigured: fail loudly rather than dead-letter everything
            except Exception as exc:  # one bad document must not sink the batch
                result.failures[item.doc_id] = f"OCR failed: {type(exc).__name__}: {exc}"
            else:
                write_json_atomic(parts / f"{item.doc_id}.json", record)
                self._keep(record, result, counts)
            done += 1
            if context is not None and (done % 25 == 0 or done == len(inputs)):
                context.log.info(f"OCR {batch_id}: {done}/{len(inputs)} documents")

        with ThreadPoolExecutor(max_workers=self._workers()) as pool:
            for item in inputs:
                record = read_json(parts / f"{item.doc_id}.json")
                if record is not None and record.get("metadata", {}).get("olmocr-version") == ENGINE_VERSION:
                    reused += 1  # finished before a killed run: resume, don't redo
                    self._keep(record, result, counts)
                    done += 1
                    continue
                try:
                    in_flight.append((item, self._start_document(item, pool)))
                except Exception as exc:
                    result.failures[item.doc_id] = f"could not read PDF pages: {type(exc).__name__}: {exc}"
                while sum(_pending(p) for _, p in in_flight) > 4 * self._workers():
                    finish_oldest()
            while in_flight:
                finish_oldest()
        order = {item.doc_id: n for n, item in enumerate(inputs)}
        result.records.sort(key=lambda r: order[r["metadata"]["doc_id"]])
        result.metadata = {
            "pages_text_layer": counts[PAGE_TEXT_LAYER],
            "pages_ocr": counts[PAGE_OCR],
            "pages_empty": counts[PAGE_EMPTY],
            "documents_resumed": reused,
        }
        return result

    @staticmethod
    def _keep(record: dict, result: OcrBatchResult, counts: dict) -> None:
        for method in record["attributes"]["page_methods"]:
            counts[method] += 1
        result.records.append(record)

    def _start_document(self, item: OcrInput, pool: ThreadPoolExecutor) -> list:
        """Per page: its text (text layer) or a future for Tesseract's text (image-only page)."""
        import pymupdf  # here, not at code-location load (48 MiB)

        pages: list = []
        with pymupdf.open(item.pdf_path) as pdf:
            for page in pdf:
                text = page.get_text("text", sort=True).strip()
                if text_layer_is_usable(text, self.min_text_chars):
                    pages.append(PageText(page.number + 1, text, PAGE_TEXT_LAYER))
                    continue
                png = page.get_pixmap(dpi=self.dpi, colorspace=pymupdf.csGRAY).tobytes("png")
                pages.append(
                    pool.submit(tesseract_png, png, lang=self.language, timeout=self.page_timeout_seconds,
                                psm=self.page_segmentation_mode)
                )
        if any(isinstance(p, Future) for p in pages):
            # MuPDF keeps every decoded scan image in its cache (up to 256 MiB, ~12 MiB a page at 200 dpi)
            # though no later document reuses it: empty it once the document's pages are rendered
            pymupdf.TOOLS.store_shrink(100)
        return pages

    def _assemble(self, item: OcrInput, pages: list) -> dict:
        texts: list[PageText] = []
        for index, page in enumerate(pages):
            if isinstance(page, Future):
                text = page.result()
                page = PageText(index + 1, text, PAGE_OCR if text.strip() else PAGE_EMPTY)
            texts.append(page)
        doc = DocumentText(doc_id=item.doc_id, source_file=item.source_file, pages=texts)
        return build_record(doc, source="pipeline_project:pymupdf+tesseract", engine_version=ENGINE_VERSION)


def _pending(pages: list) -> int:
    return sum(isinstance(p, Future) and not p.done() for p in pages)
